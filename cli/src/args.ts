/**
 * The command line, parsed into one typed command. Pure: `zeus --help` and every bad flag are
 * decided here, with the message the user sees.
 */
import { parseArgs } from 'node:util';

export const DEFAULT_URL = 'http://localhost:8080';

export const USAGE = `Usage: zeus <command> [options]

Commands:
  generate <prompt>   Queue a video, show its progress, download the MP4
  cancel <job id>     Cancel a queued or running job
  retry <job id>      Queue a failed or cancelled job again (same settings and seed)
  status              The service: model, workers, queue
  workers             Each worker: machine, device, what it is doing, jobs done
  jobs                Past and present jobs, newest first
  help                This text

Options for generate (each defaults to the model's default):
  --out <file>              Where to save the MP4 (default: zeus-<job id>.mp4)
  --negative-prompt <text>  What the video should avoid
  --width <pixels>          A multiple of 32
  --height <pixels>         A multiple of 32
  --frames <count>          Of the form 8k+1 (9, 17, 25, …)
  --fps <rate>              Frames per second
  --seed <number>           0 to 2147483647 (default: random)
  --image <file>            Start the video from this picture (PNG, JPEG or WebP)
  --no-preview              Make no live previews while it is generated
  --no-download             Wait for the job but do not download the MP4
  --count <n>               Make n videos, each with a random seed (one batch); with --out,
                            fox.mp4 becomes fox-1.mp4, fox-2.mp4, …
  --priority <n>            -10 to 10, higher runs first (--priority=-5 for a negative one;
                            raising it may need a key allowed to)
  --webhook-url <url>       Zeus POSTs the final state there (signed: docs/api/webhooks.md)
  --keep-running            On Ctrl-C, leave the job running (default: cancel it)

Options for jobs:
  --first <count>           How many jobs (1 to 100, default 20)
  --after <cursor>          The page after this cursor (printed at the end of a page)

Options for every command:
  --url <url>               Zeus's address (default: $ZEUS_URL or ${DEFAULT_URL})
  --api-key <key>           Zeus's API key, when it needs one (default: $ZEUS_API_KEY)
  --json                    Machine-readable output: one JSON object per line
  -h, --help                This text

Exit status: 0 done, 1 the job or the request failed, 2 bad usage or invalid settings,
130 interrupted.`;

export interface CommonOptions {
  /** Base URL of Zeus, without a trailing slash. */
  readonly url: string;
  readonly json: boolean;
  /** The API key sent with every request (`--api-key` or `ZEUS_API_KEY`); null for none. */
  readonly apiKey: string | null;
}

export interface GenerationFlags {
  readonly negativePrompt?: string;
  readonly width?: number;
  readonly height?: number;
  readonly numFrames?: number;
  readonly frameRate?: number;
  readonly seed?: number;
  readonly priority?: number;
  readonly webhookUrl?: string;
  /** Only given to turn previews off. */
  readonly preview?: false;
}

export type Command =
  | { readonly name: 'help' }
  | ({
      readonly name: 'generate';
      readonly prompt: string;
      readonly settings: GenerationFlags;
      readonly out: string | null;
      readonly download: boolean;
      /** A picture to start the video from (`--image`), as given. */
      readonly image: string | null;
      /** Videos to make (`--count`), each with a random seed; absent: one. */
      readonly count?: number;
      /** `--keep-running`: Ctrl-C leaves the job running instead of cancelling it. */
      readonly keepRunning?: true;
    } & CommonOptions)
  | ({
      readonly name: 'cancel' | 'retry';
      readonly id: string;
    } & CommonOptions)
  | ({ readonly name: 'status' } & CommonOptions)
  | ({ readonly name: 'workers' } & CommonOptions)
  | ({
      readonly name: 'jobs';
      readonly first: number;
      readonly after: string | null;
    } & CommonOptions);

/** A mistake on the command line: printed with a hint to run `zeus --help`, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  out: { type: 'string', short: 'o' },
  'negative-prompt': { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  frames: { type: 'string' },
  fps: { type: 'string' },
  seed: { type: 'string' },
  'no-download': { type: 'boolean' },
  image: { type: 'string' },
  'no-preview': { type: 'boolean' },
  count: { type: 'string' },
  priority: { type: 'string' },
  'webhook-url': { type: 'string' },
  'keep-running': { type: 'boolean' },
  first: { type: 'string' },
  after: { type: 'string' },
} as const;

const GENERATE_ONLY = [
  'out',
  'negative-prompt',
  'width',
  'height',
  'frames',
  'fps',
  'seed',
  'no-download',
  'image',
  'no-preview',
  'count',
  'priority',
  'webhook-url',
  'keep-running',
] as const;
const JOBS_ONLY = ['first', 'after'] as const;

function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) {
    throw new UsageError(`--${flag} must be a whole number (got ${JSON.stringify(text)}).`);
  }
  return Number(text);
}

/** `{ key: value }`, or `{}` when the flag was not given. */
function optional<Key extends string, Value>(
  key: Key,
  value: Value | undefined,
): { [K in Key]?: Value } {
  return value === undefined ? {} : ({ [key]: value } as { [K in Key]: Value });
}

function apiKey(text: string | undefined): string | null {
  const key = text?.trim() ?? '';
  if (key === '') return null;
  if (/\s/.test(key)) throw new UsageError('--api-key must not contain spaces.');
  return key;
}

function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url must be an http(s) URL (got ${JSON.stringify(text)}).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL (got ${JSON.stringify(text)}).`);
  }
  return url.href.replace(/\/+$/, '');
}

export function parseCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help === true || name === undefined || name === 'help') return { name: 'help' };

  const common: CommonOptions = {
    url: baseUrl(values.url ?? env['ZEUS_URL'] ?? DEFAULT_URL),
    json: values.json === true,
    apiKey: apiKey(values['api-key'] ?? env['ZEUS_API_KEY']),
  };
  const refuse = (flags: readonly (keyof typeof values)[], command: string): void => {
    const given = flags.filter((flag) => values[flag] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        `${given.map((flag) => `--${flag}`).join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply to "zeus ${command}".`,
      );
    }
  };

  switch (name) {
    case 'generate': {
      refuse(JOBS_ONLY, name);
      const prompt = rest.join(' ').trim();
      if (prompt === '')
        throw new UsageError('zeus generate needs a prompt: zeus generate "a red fox in the snow"');
      const settings: GenerationFlags = {
        ...optional('negativePrompt', values['negative-prompt']),
        ...optional('width', wholeNumber('width', values.width)),
        ...optional('height', wholeNumber('height', values.height)),
        ...optional('numFrames', wholeNumber('frames', values.frames)),
        ...optional('frameRate', wholeNumber('fps', values.fps)),
        ...optional('seed', wholeNumber('seed', values.seed)),
        ...optional('priority', wholeNumber('priority', values.priority)),
        ...optional('webhookUrl', values['webhook-url']),
        ...(values['no-preview'] === true ? { preview: false as const } : {}),
      };
      if (values.image?.trim() === '') throw new UsageError('--image needs a file name.');
      const count = wholeNumber('count', values.count);
      if (count !== undefined && count < 1) {
        throw new UsageError(`--count must be at least 1 (got ${count}).`);
      }
      if (count !== undefined && count > 1 && settings.seed !== undefined) {
        throw new UsageError('--seed makes one video: leave it out to make several (--count).');
      }
      return {
        name,
        prompt,
        settings,
        out: values.out ?? null,
        download: values['no-download'] !== true,
        image: values.image ?? null,
        ...optional('count', count),
        ...(values['keep-running'] === true ? { keepRunning: true as const } : {}),
        ...common,
      };
    }
    case 'cancel':
    case 'retry': {
      refuse([...GENERATE_ONLY, ...JOBS_ONLY], name);
      const [id, ...extra] = rest;
      if (id === undefined || extra.length > 0) {
        throw new UsageError(`zeus ${name} takes one job id: zeus ${name} <job id>`);
      }
      return { name, id, ...common };
    }
    case 'status':
    case 'workers':
      refuse([...GENERATE_ONLY, ...JOBS_ONLY], name);
      if (rest.length > 0)
        throw new UsageError(`zeus ${name} takes no arguments (got ${rest.join(' ')}).`);
      return { name, ...common };
    case 'jobs': {
      refuse(GENERATE_ONLY, name);
      if (rest.length > 0)
        throw new UsageError(`zeus jobs takes no arguments (got ${rest.join(' ')}).`);
      const first = wholeNumber('first', values.first) ?? 20;
      if (first < 1 || first > 100)
        throw new UsageError(`--first must be from 1 to 100 (got ${first}).`);
      return { name, first, after: values.after ?? null, ...common };
    }
    default:
      throw new UsageError(
        `Unknown command "${name}". Commands: generate, cancel, retry, status, workers, jobs, help.`,
      );
  }
}
