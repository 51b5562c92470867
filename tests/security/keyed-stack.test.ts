/**
 * Attacks on a stack with API keys on (issue 15), each refused or bounded.
 *
 * Finding 4: with API keys on, a tenant's videos, posters and previews are its own.
 * Before, Caddy served `/generated/<job-id>/…` to anyone, so any key holder who learnt a job id
 * (or anyone, from a shared link) had another tenant's video. Now an API server says first
 * (Caddy's `forward_auth`) whether a request holds a link the API gave the job's owner, or the
 * owner's key. Against the real stack through Caddy: Redis, an API server, Caddy's file server,
 * jobs finished as a worker leaves them (real MP4s and posters in generated/).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { eventually } from '../helpers/eventually.ts';
import { postGraphQL } from '../helpers/graphql.ts';
import { seedHistory } from '../helpers/seed-history.ts';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-fedcba9876543210';
const JOB = '{ jobs(first: 1) { edges { node { id videoUrl posterUrl } } } }';

interface Links {
  readonly id: string;
  readonly videoUrl: string;
  readonly posterUrl: string;
}

let stack: LocalStack;
let dir: string;
let alicesJob: string;

async function linksOf(key: string): Promise<Links> {
  const response = await postGraphQL(stack.graphqlUrl, JSON.stringify({ query: JOB }), {
    authorization: `Bearer ${key}`,
  });
  const body = (await response.json()) as {
    data: { jobs: { edges: { node: Links }[] } };
  };
  const node = body.data.jobs.edges[0]?.node;
  if (node === undefined) throw new Error(`no job for that key: ${JSON.stringify(body)}`);
  return node;
}

const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${stack.url}${path}`, { headers });

async function refusal(response: Response): Promise<{ status: number; code: unknown }> {
  const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
  return { status: response.status, code: body.errors[0]?.extensions.code };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-security-outputs-'));
  stack = await startLocalStack({
    dataDir: join(dir, 'data'),
    generatedDir: join(dir, 'generated'),
    port: 0,
    workers: 0,
    apiServers: 1,
    env: {
      ZEUS_MODEL: 'tiny-random',
      ZEUS_LOG_LEVEL: 'warn',
      ZEUS_API_KEYS: `alice:${ALICE},bob:${BOB}`,
    },
  });
  const seeded = { redisUrl: stack.redisUrl, generatedDir: join(dir, 'generated'), count: 1 };
  [alicesJob = ''] = await seedHistory({ ...seeded, owner: 'alice' });
  await seedHistory({ ...seeded, owner: 'bob' });
});

afterAll(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a tenant’s outputs, with API keys on', () => {
  it('refuses the bare path to a caller without a key, or with another tenant’s', async () => {
    const path = `/generated/${alicesJob}/out.mp4`;
    expect(await refusal(await get(path))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await refusal(await get(`/generated/${alicesJob}/poster.jpg`))).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    expect(await refusal(await get(path, { 'x-api-key': BOB }))).toEqual({
      status: 403,
      code: 'FORBIDDEN',
    });
    expect(await refusal(await get(path, { 'x-api-key': 'not-a-key-of-this-zeus' }))).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
  });

  it('serves the owner, by key or through the links the API gave it, with seeking', async () => {
    const path = `/generated/${alicesJob}/out.mp4`;
    const byKey = await get(path, { authorization: `Bearer ${ALICE}` });
    expect(byKey.status).toBe(200);
    const video = Buffer.from(await byKey.arrayBuffer());
    expect(video.subarray(4, 8).toString('latin1')).toBe('ftyp');

    const links = await linksOf(ALICE);
    expect(links.id).toBe(alicesJob);
    expect(links.videoUrl).toMatch(new RegExp(`^${path}\\?exp=\\d+&sig=[\\w-]+$`));
    // A browser's <video> sends no key: the link alone is enough, range requests included.
    const linked = await get(links.videoUrl);
    expect(linked.status).toBe(200);
    expect(Buffer.from(await linked.arrayBuffer()).equals(video)).toBe(true);
    const range = await get(links.videoUrl, { range: 'bytes=0-99' });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(video.subarray(0, 100))).toBe(true);
    const poster = await get(links.posterUrl);
    expect(poster.status).toBe(200);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
  });

  it('refuses a link edited to name another job or output, or to live longer', async () => {
    const alices = await linksOf(ALICE);
    const bobs = await linksOf(BOB);
    const [, bobsQuery] = bobs.videoUrl.split('?');
    // Bob's signature on Alice's video, Alice's on Bob's poster, Alice's with a later expiry.
    expect(await refusal(await get(`/generated/${alicesJob}/out.mp4?${bobsQuery}`))).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    const [, alicesQuery] = alices.videoUrl.split('?');
    expect(await refusal(await get(`/generated/${bobs.id}/poster.jpg?${alicesQuery}`))).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    const later = alices.videoUrl.replace(/exp=(\d+)/, (_all, exp: string) => {
      return `exp=${Number(exp) + 86_400}`;
    });
    expect(await refusal(await get(later))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    // Each tenant's own link still works.
    expect((await get(bobs.videoUrl)).status).toBe(200);
  });
});

describe('browsers', () => {
  it('may not frame Zeus or sniff another type, on the app, the API and outputs (low finding)', async () => {
    const links = await linksOf(ALICE);
    const answers = [
      await get('/'),
      await get('/jobs/00000000-0000-4000-8000-000000000000'),
      await postGraphQL(stack.graphqlUrl, JSON.stringify({ query: '{ system { modelReady } }' })),
      await get(links.videoUrl),
      await get(`/generated/${alicesJob}/out.mp4`),
    ];
    for (const answer of answers) {
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 401]);
  });
});

describe('the access log', () => {
  it('keeps no key and no link’s signature (low finding: X-Api-Key logged in clear)', async () => {
    const links = await linksOf(ALICE);
    const signature = new URL(links.videoUrl, stack.url).searchParams.get('sig') ?? '';
    expect(signature).not.toBe('');
    expect((await get(links.videoUrl)).status).toBe(200);
    expect((await get(`/generated/${alicesJob}/out.mp4`, { 'x-api-key': ALICE })).status).toBe(200);
    const log = join(dir, 'data', 'logs', 'caddy.log');
    // Both requests are in the log (Caddy writes each line when its answer is sent) ...
    const lines = await eventually(async () => {
      const text = await readFile(log, 'utf8');
      const entries = text.split('\n').filter((line) => line.includes(`/generated/${alicesJob}/`));
      expect(entries.length).toBeGreaterThanOrEqual(2);
      return text;
    }, 30_000);
    // ... without the key or the signature anywhere.
    expect(lines).not.toContain(ALICE);
    expect(lines).not.toContain(signature);
  });
});

describe('Redis, which every write needs', () => {
  it('is capped, refusing writes when full rather than evicting jobs (finding 1)', async () => {
    const redis = connectRedis(stack.redisUrl, { name: 'security-test', role: 'requests' });
    try {
      expect(await redis.config('GET', 'maxmemory')).toEqual(['maxmemory', String(1024 ** 3)]);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
    } finally {
      await closeRedis(redis);
    }
  });
});
