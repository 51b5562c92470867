/**
 * The `zeus` command-line client, run as users run it (the package bin), against the real local
 * stack through Caddy with the tiny-random model.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, type LocalStack } from '../../deploy/local-stack.ts';
import { reservePort } from '../../deploy/ports.ts';
import { graphqlRequest } from '../helpers/graphql.ts';
import { probeVideo } from '../helpers/video.ts';
import { serverHoldingTheWebSocket } from '../helpers/websocket-upstream.ts';
import { holdWorker } from '../helpers/hold-worker.ts';
import { startTinyStack } from '../helpers/tiny-stack.ts';

const ZEUS_BIN = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'zeus');
/** Small videos, so the tiny model finishes each in seconds. */
const SIZE = ['--width', '256', '--height', '256', '--frames', '17', '--fps', '25'];

let stack: LocalStack | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  ({ stack, dir: dataDir } = await startTinyStack('cli-e2e', {
    // Every denoising step is published, however fast the tiny model runs.
    ZEUS_PROGRESS_INTERVAL_MS: '0',
  }));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `zeus` with ZEUS_URL pointing at the stack, in the test's temporary folder. */
async function zeus(...args: string[]): Promise<Run> {
  if (stack === undefined) throw new Error('the stack did not start');
  return runZeus(stack.url, args);
}

/** Runs `zeus` with ZEUS_URL set to `url`, in the test's temporary folder. */
async function zeusAt(url: string, ...args: string[]): Promise<Run> {
  return runZeus(url, args);
}

/**
 * Runs `zeus generate …` against the stack with the worker held (SIGSTOP) until the command
 * prints its first update of the job: the tiny model could otherwise finish the job before the
 * command has subscribed (CI under load once saw it start following at "Decoding"), where the
 * real model's jobs take minutes.
 */
async function zeusFollowingFromTheStart(...args: string[]): Promise<Run> {
  if (stack === undefined) throw new Error('the stack did not start');
  const release = await holdWorker(stack);
  try {
    return await runZeus(stack.url, args, (output) => {
      // A progress line (`[  0%] …`), or a progress event with --json.
      if (/^\[ *\d+%\] |^\{"event":"progress"/m.test(output)) release();
    });
  } finally {
    release();
  }
}

/** Runs `zeus` with `args`; `onOutput` sees stdout and stderr so far after each chunk. */
async function runZeus(
  url: string,
  args: readonly string[],
  onOutput: (output: string) => void = () => undefined,
): Promise<Run> {
  if (dataDir === undefined) throw new Error('the stack did not start');
  const child = spawn(ZEUS_BIN, args, {
    cwd: dataDir,
    env: { ...process.env, ZEUS_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 90_000,
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const seen = (): void => {
    onOutput(`${Buffer.concat(stdout).toString()}\n${Buffer.concat(stderr).toString()}`);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    seen();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    seen();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return {
    code,
    stdout: Buffer.concat(stdout).toString(),
    stderr: Buffer.concat(stderr).toString(),
  };
}

describe('the zeus command line against the real stack', () => {
  const ids: string[] = [];

  it('reports the service status', async () => {
    const human = await zeus('status');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('model:    tiny-random (ready)');
    expect(human.stdout).toContain('workers:  1 online');

    const json = await zeus('status', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      model: 'tiny-random',
      modelReady: true,
      workersOnline: 1,
    });
  });

  it('generates a video with a progress display and writes a valid MP4', async () => {
    const run = await zeusFollowingFromTheStart(
      'generate',
      'a lighthouse at dusk, waves',
      ...SIZE,
      '--out',
      'lighthouse.mp4',
    );
    expect(run.stderr).toMatch(
      /^Queued job [0-9a-f-]{36}: 256×256 · 17 frames at 25 fps \(0\.68 s\) · seed \d+$/m,
    );
    // One line per change while not on a terminal: queued, denoising steps, then done.
    expect(run.stderr).toMatch(/^\[ {2}0%\] Next in the queue/m);
    expect(run.stderr).toMatch(/^\[ *\d+%\] Denoising · step 1 of 8/m);
    expect(run.stderr).toMatch(/^\[ *\d+%\] Denoising · step 8 of 8/m);
    expect(run.stderr).toMatch(/^\[100%\] Done$/m);
    expect(run.stderr).toMatch(/^Saved .*lighthouse\.mp4 \([\d.]+ kB\)$/m);
    expect(run.code).toBe(0);
    ids.push(/Queued job ([0-9a-f-]{36})/.exec(run.stderr)?.[1] ?? '');
    const file = join(dataDir ?? '', 'lighthouse.mp4');
    expect(run.stdout).toBe(`${file}\n`);
    const video = await probeVideo(file);
    expect(video).toMatchObject({
      codec: 'h264',
      pixelFormat: 'yuv420p',
      width: 256,
      height: 256,
      frames: 17,
      frameRate: '25/1',
    });
  }, 90_000);

  it('writes one JSON event per line with --json', async () => {
    const run = await zeusFollowingFromTheStart(
      'generate',
      'a paper boat on a puddle',
      ...SIZE,
      '--seed',
      '7',
      '--json',
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string } & Record<string, unknown>);
    const names = events.map((event) => event.event);
    expect(names[0]).toBe('submitted');
    expect(names.slice(-2)).toEqual(['succeeded', 'downloaded']);
    const submitted = events[0] as unknown as {
      id: string;
      settings: { seed: number; numFrames: number };
    };
    expect(submitted.settings).toMatchObject({ seed: 7, numFrames: 17 });
    const steps = events
      .filter((event) => event.event === 'progress')
      .map((event) => event['step'] as number);
    expect(steps).toContain(8);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    const downloaded = events.at(-1) as unknown as { file: string; bytes: number; id: string };
    expect(downloaded.id).toBe(submitted.id);
    expect(downloaded.file).toBe(join(dataDir ?? '', `zeus-${submitted.id}.mp4`));
    expect((await stat(downloaded.file)).size).toBe(downloaded.bytes);
    expect((await readFile(downloaded.file)).subarray(4, 8).toString()).toBe('ftyp');
    ids.push(submitted.id);
  }, 90_000);

  it('keeps following the job when its API server dies, and still downloads the video', async () => {
    if (stack === undefined || dataDir === undefined) throw new Error('the stack did not start');
    // The model's default size: the longest job the tiny model runs here (about 2 s).
    const child = spawn(
      ZEUS_BIN,
      ['generate', 'rain on a tin roof', '--json', '--out', 'rain.mp4'],
      {
        cwd: dataDir,
        env: { ...process.env, ZEUS_URL: stack.url },
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 90_000,
      },
    );
    const closed = once(child, 'close');
    const events: string[] = [];
    let killed: string | null = null;
    for await (const line of createInterface({ input: child.stdout })) {
      const event = JSON.parse(line) as { event: string; status?: string; id?: string };
      events.push(event.event);
      if (event.event === 'submitted') ids.push(event.id ?? '');
      if (killed === null && event.event === 'progress' && event.status === 'RUNNING') {
        killed = await serverHoldingTheWebSocket(stack);
        stack.kill(killed, 'SIGKILL');
      }
    }
    const [code] = (await closed) as [number | null];
    expect(killed).not.toBeNull();
    expect(code).toBe(0);
    const reconnecting = events.indexOf('reconnecting');
    expect(reconnecting).toBeGreaterThan(0);
    expect(events.indexOf('reconnected')).toBeGreaterThan(reconnecting);
    expect(events.slice(-2)).toEqual(['succeeded', 'downloaded']);
    expect(await probeVideo(join(dataDir, 'rain.mp4'))).toMatchObject({
      width: 768,
      height: 512,
      frames: 121,
    });
  }, 90_000);

  it('exits non-zero with the reason on invalid input, and queues nothing', async () => {
    const human = await zeus('generate', 'too wide', '--width', '250', '--frames', '17');
    expect(human.code).toBe(2);
    expect(human.stderr).toBe('zeus: width must be a multiple of 32 (got 250).\n');
    expect(human.stdout).toBe('');

    const json = await zeus('generate', 'bad frames', '--frames', '20', '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      event: 'error',
      code: 'BAD_USER_INPUT',
      field: 'numFrames',
    });

    const usage = await zeus('generate', 'x', '--width', 'wide');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--width must be a whole number (got "wide").');
  });

  it('lists the jobs, newest first', async () => {
    const run = await zeus('jobs', '--json');
    expect(run.code).toBe(0);
    const page = JSON.parse(run.stdout) as {
      jobs: { id: string; status: string }[];
      totalCount: number;
    };
    expect(page.totalCount).toBe(3);
    expect(page.jobs.map((job) => job.id)).toEqual([...ids].reverse());
    expect(page.jobs.every((job) => job.status === 'SUCCEEDED')).toBe(true);

    const human = await zeus('jobs', '--first', '1');
    expect(human.stdout).toMatch(new RegExp(`^${ids[2] ?? ''}  SUCCEEDED`));
    expect(human.stdout).toMatch(/^1 of 3 jobs; next page: zeus jobs --after \S+$/m);
  });

  // After the history test above, which counts only the jobs that succeeded.
  it('exits 1 with the reason when the job it follows is cancelled', async () => {
    if (stack === undefined || dataDir === undefined) throw new Error('the stack did not start');
    // The model's default size, so the job runs long enough to be cancelled mid-run.
    const child = spawn(ZEUS_BIN, ['generate', 'a kite over a windy beach', '--json'], {
      cwd: dataDir,
      env: { ...process.env, ZEUS_URL: stack.url },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 90_000,
    });
    const closed = once(child, 'close');
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const events: ({ event: string } & Record<string, unknown>)[] = [];
    let cancelled: string | null = null;
    for await (const line of createInterface({ input: child.stdout })) {
      const event = JSON.parse(line) as { event: string } & Record<string, unknown>;
      events.push(event);
      if (cancelled === null && event.event === 'progress' && event['status'] === 'RUNNING') {
        // Someone else cancels it, over the API: the CLI sees it end CANCELLED.
        const id = String(event['id']);
        const response = await graphqlRequest<{ cancelJob: { status: string } }>(
          stack.graphqlUrl,
          'mutation Cancel($id: ID!) { cancelJob(id: $id) { status } }',
          { id },
        );
        expect(response.errors).toBeUndefined();
        cancelled = id;
      }
    }
    const [code] = (await closed) as [number | null];
    expect(cancelled).not.toBeNull();
    expect(code).toBe(1);
    expect(Buffer.concat(stderr).toString()).toBe('');
    expect(events.at(-1)).toMatchObject({
      event: 'failed',
      id: cancelled,
      status: 'CANCELLED',
      message: `Job ${cancelled ?? ''} was cancelled.`,
    });
    expect(events.map((event) => event.event)).not.toContain('downloaded');
  }, 90_000);

  // After the history test above, which counts the jobs before this batch.
  it('makes a numbered video per job with --count, each with its own seed, at --priority', async () => {
    const run = await zeus(
      'generate',
      'a red fox in the snow',
      ...SIZE,
      '--count',
      '2',
      '--priority',
      '3',
      '--out',
      'fox.mp4',
    );
    expect(run.code).toBe(0);
    const queued = [
      ...run.stderr.matchAll(/^Queued job ([0-9a-f-]{36}): 256×256 · 17 frames .* · seed (\d+)$/gm),
    ].map(([, id = '', seed = '']) => ({ id, seed: Number(seed) }));
    expect(queued).toHaveLength(2);
    expect(new Set(queued.map((job) => job.seed)).size).toBe(2);
    const files = ['fox-1.mp4', 'fox-2.mp4'].map((name) => join(dataDir ?? '', name));
    expect(run.stdout).toBe(files.map((file) => `${file}\n`).join(''));
    expect(run.stderr.match(/^Saved .*fox-\d\.mp4 \([\d.]+ kB\)$/gm)).toHaveLength(2);
    for (const file of files) {
      expect(await probeVideo(file)).toMatchObject({
        codec: 'h264',
        pixelFormat: 'yuv420p',
        width: 256,
        height: 256,
        frames: 17,
        frameRate: '25/1',
      });
    }

    // Zeus has them as one batch, at that priority, with the seeds the CLI reported, in order.
    const jobs = await Promise.all(
      queued.map(async ({ id }) => {
        const response = await graphqlRequest<{
          job: {
            status: string;
            priority: number;
            batchId: string | null;
            settings: { seed: number };
          };
        }>(
          stack?.graphqlUrl ?? '',
          'query ($id: ID!) { job(id: $id) { status priority batchId settings { seed } } }',
          { id },
        );
        expect(response.errors).toBeUndefined();
        return response.data?.job;
      }),
    );
    expect(jobs.map((job) => job?.settings.seed)).toEqual(queued.map((job) => job.seed));
    expect(jobs.map((job) => [job?.status, job?.priority])).toEqual([
      ['SUCCEEDED', 3],
      ['SUCCEEDED', 3],
    ]);
    expect(jobs[0]?.batchId).toEqual(expect.any(String));
    expect(jobs[1]?.batchId).toBe(jobs[0]?.batchId);
    // Two different videos: random seeds make different noise.
    const [first, second] = await Promise.all(files.map((file) => readFile(file)));
    expect(first?.equals(second ?? Buffer.alloc(0))).toBe(false);
  }, 90_000);

  it('exits 1 with the reason when Zeus cannot be reached', async () => {
    // A port nothing listens on, held so that nothing starts to meanwhile.
    const closedPort = await reservePort();
    const url = `http://127.0.0.1:${closedPort.port}`;
    try {
      const human = await zeusAt(url, 'status');
      expect(human.code).toBe(1);
      expect(human.stderr).toMatch(new RegExp(`^zeus: Cannot reach Zeus at ${url}: .+\\n$`));
      expect(human.stdout).toBe('');

      const json = await zeusAt(url, 'generate', 'a quiet forest', '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({
        event: 'error',
        code: 'NETWORK_ERROR',
        message: expect.stringMatching(new RegExp(`^Cannot reach Zeus at ${url}: `)) as unknown,
      });
    } finally {
      closedPort.release();
    }
  });
});
