/**
 * Prompt search over the job history, in Redis, without a search engine.
 *
 * Each job's prompt is kept, normalised (`searchText`: NFKC, lower case, single spaces), in one
 * hash beside the history (`RedisKeys.promptIndex`: job id → text, about a hundred bytes a job),
 * written in the same step as the job (job-store.ts) and removed with it. A search walks the
 * caller's own history sorted set (the whole history, or one API key's: another key's jobs are
 * never read), newest first, from the page's cursor, in a Lua script that reads each id's text
 * from the hash and keeps the jobs whose text contains every word searched for. It stops when it
 * has a page of matches or has looked at `SEARCH_CHUNK` jobs; the server calls it again up to
 * `SEARCH_BUDGET` jobs a request. So one request costs at most a few milliseconds of Redis time
 * whatever the history holds, each script call blocks Redis for well under a millisecond per
 * thousand jobs, and only matching ids cross the network. A page with fewer matches than asked
 * for (even none) but `hasNextPage` says the search goes on from its cursor: a rare word in a
 * history of 100,000 jobs takes ten requests to search it all. Jobs from before the index
 * existed are indexed by the first search that meets them.
 *
 * Substring matching (a word typed halfway matches) rather than a word index: any part of a
 * word is found, there is nothing to keep in step but one hash field per job, and at the history
 * sizes Zeus sees (a GPU makes a few thousand videos a month) scanning the compact hash is cheap.
 */
import type { JobView } from './job.ts';
import { encodeCursor, type JobPage } from './job-page.ts';
import { parseJob } from './job-record.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

/** The most characters a search may have. */
export const MAX_SEARCH_CHARS = 200;
/** Jobs one script call looks at, at most. */
export const SEARCH_CHUNK = 2_000;
/** Jobs one request looks at, at most. */
export const SEARCH_BUDGET = 10_000;

/** A prompt as it is searched: NFKC, lower case, runs of white space as one space. */
export function searchText(prompt: string): string {
  return prompt.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/** The words a search looks for (each must appear), without repeats; none for a blank search. */
export function searchWords(search: string): string[] {
  const text = searchText(search);
  return text === '' ? [] : [...new Set(text.split(' '))];
}

/**
 * Walks one history (sorted set of job ids by submission order) newest first, below ARGV[1]
 * (a ZREVRANGEBYSCORE bound: '+inf' or '(<order>'), at most ARGV[3] entries, keeping the ids whose
 * text in the index contains every word ARGV[4..]; stops after ARGV[2] matches.
 *   KEYS: history, prompt index
 * Returns: matches (id, order, id, order …), ids with no text in the index (not judged), the
 * order of the last entry looked at ('' for none), entries looked at, entries read.
 */
export const SEARCH_SCRIPT = `
local entries = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local wanted = tonumber(ARGV[2])
local matches, missing = {}, {}
local last, looked = '', 0
for i = 1, #entries, 2 do
  local id, order = entries[i], entries[i + 1]
  local text = redis.call('HGET', KEYS[2], id)
  if not text then
    missing[#missing + 1] = id
  else
    local all = true
    for w = 4, #ARGV do
      if not string.find(text, ARGV[w], 1, true) then
        all = false
        break
      end
    end
    if all then
      matches[#matches + 1] = id
      matches[#matches + 1] = order
    end
  end
  looked = looked + 1
  last = order
  if #matches / 2 >= wanted then break end
end
return { matches, missing, last, looked, #entries / 2 }
`;

/** What one walk of the history found. */
export interface SearchChunk {
  /** Matching ids with their submission order, newest first. */
  readonly matches: readonly { readonly id: string; readonly order: string }[];
  /** Ids the index has no text for: index them and walk the same part again. */
  readonly missing: readonly string[];
  /** The order of the last entry looked at; null when there was none. */
  readonly lastOrder: string | null;
  /** True when the walk reached the oldest job. */
  readonly reachedEnd: boolean;
  readonly looked: number;
}

/** Reads the script's answer. */
export function parseSearchChunk(result: unknown, asked: number): SearchChunk {
  const [flatMatches, missing, last, looked, read] = Array.isArray(result)
    ? (result as unknown[])
    : [];
  const pairs = Array.isArray(flatMatches) ? flatMatches.map(String) : [];
  const matches: { id: string; order: string }[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    matches.push({ id: pairs[i] ?? '', order: pairs[i + 1] ?? '' });
  }
  const lookedCount = Number(looked ?? 0);
  const readCount = Number(read ?? 0);
  return {
    matches,
    missing: Array.isArray(missing) ? missing.map(String) : [],
    lastOrder: typeof last === 'string' && last !== '' ? last : null,
    // Fewer entries than asked for, all looked at: there are no older ones.
    reachedEnd: readCount < asked && lookedCount === readCount,
    looked: lookedCount,
  };
}

/**
 * One page of a prompt search of `history` (the whole history or one owner's), below `below` (a
 * ZREVRANGEBYSCORE bound): see `JobStore.list`. `getMany` reads the matching jobs.
 */
export async function searchHistory(
  redis: Redis,
  keys: RedisKeys,
  getMany: (jobIds: readonly string[]) => Promise<Map<string, JobView>>,
  history: string,
  below: string,
  first: number,
  words: readonly string[],
): Promise<JobPage> {
  const matches: { id: string; order: string }[] = [];
  let bound = below;
  let looked = 0;
  let reachedEnd = false;
  while (matches.length <= first && looked < SEARCH_BUDGET) {
    const asked = Math.min(SEARCH_CHUNK, SEARCH_BUDGET - looked);
    const chunk = parseSearchChunk(
      await redis.eval(
        SEARCH_SCRIPT,
        2,
        history,
        keys.promptIndex,
        bound,
        first + 1 - matches.length,
        asked,
        ...words,
      ),
      asked,
    );
    if (chunk.missing.length > 0) {
      // Jobs from before the index: index them, then walk the same part again.
      await indexPrompts(redis, keys, chunk.missing);
      continue;
    }
    matches.push(...chunk.matches);
    looked += chunk.looked;
    if (chunk.reachedEnd || chunk.lastOrder === null) {
      reachedEnd = true;
      break;
    }
    bound = `(${chunk.lastOrder}`;
  }
  const [jobs, totalCount] = await Promise.all([
    getMany(matches.slice(0, first).map((match) => match.id)),
    redis.zcard(history),
  ]);
  const edges = matches.slice(0, first).flatMap(({ id, order }) => {
    const job = jobs.get(id);
    return job === undefined ? [] : [{ cursor: encodeCursor(order), job }];
  });
  if (matches.length > first) {
    return {
      jobs: edges,
      hasNextPage: true,
      endCursor: edges.at(-1)?.cursor ?? null,
      totalCount,
    };
  }
  // Fewer matches than a page: the search goes on below the last job looked at, if any.
  const lastLooked = /^\(([0-9]+)$/.exec(bound)?.[1];
  return {
    jobs: edges,
    hasNextPage: !reachedEnd,
    endCursor: reachedEnd
      ? (edges.at(-1)?.cursor ?? null)
      : lastLooked === undefined
        ? (edges.at(-1)?.cursor ?? null)
        : encodeCursor(lastLooked),
    totalCount,
  };
}

/** Writes the search text of jobs the prompt index lacks (submitted before it existed). */
async function indexPrompts(
  redis: Redis,
  keys: RedisKeys,
  jobIds: readonly string[],
): Promise<void> {
  const records = await redis.mget(jobIds.map((id) => keys.job(id)));
  const fields: string[] = [];
  records.forEach((record, index) => {
    const id = jobIds[index];
    // A job removed in between has no record: an empty text matches nothing.
    const text = record === null ? '' : searchText(parseJob(record).settings.prompt);
    if (id !== undefined) fields.push(id, text);
  });
  if (fields.length > 0) await redis.hset(keys.promptIndex, ...fields);
}
