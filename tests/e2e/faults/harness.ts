/**
 * The stack tests/e2e/faults.test.ts breaks, part by part (process-faults.ts, job-faults.ts):
 * Redis with its append-only file, three API servers behind Caddy, one worker on the tiny model;
 * the jobs it tracks and the faults it injected, for the summary; and the helpers the faults share.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeRedis, connectRedis, type Redis } from '@zeus/core';
import { afterAll, beforeAll, expect } from 'vitest';
import { fetchVia } from '../../../deploy/endpoints.ts';
import { startLocalStack, type LocalStack } from '../../../deploy/local-stack.ts';
import type { SupervisorEvent } from '../../../deploy/supervisor.ts';
import { followJob, type FollowedJob } from '../../helpers/follow-job.ts';
import { generatedDisk, type GeneratedDisk } from '../../helpers/generated-disk.ts';
import { graphqlRequest, JOB_FIELDS, SUBMIT, type JobResult } from '../../helpers/graphql.ts';

export const run = promisify(execFile);

/** About 5 s on an idle 2-core machine: long enough to break things while it runs. */
export const LONG = { width: 768, height: 512, numFrames: 121, frameRate: 24 };
export const SHORT = { width: 256, height: 256, numFrames: 17, frameRate: 12 };
export const FAULT_TIMEOUT_MS = 120_000;

export interface Expected {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly code?: string;
}

export interface Tracked {
  readonly id: string;
  readonly fault: string;
  readonly expected: Expected;
  readonly follower: FollowedJob;
}

export let stack: LocalStack;
export let dir: string;
export let disk: GeneratedDisk;
export let redisWatcher: Redis;
export const tracked: Tracked[] = [];
export const faults: { readonly name: string; readonly outcome: string }[] = [];
/** SUCCEEDED records Redis published, per job id. */
export const publishedSuccesses = new Map<string, number>();
export let jobCounter = 0;
/** Reconnections of followers that are not in `tracked` (fault 4's extra subscribers). */
export let extraReconnections = 0;

/** Counts reconnections of followers that are not in `tracked` (fault 4's extra subscribers). */
export function addExtraReconnections(count: number): void {
  extraReconnections += count;
}

/** Submits through Caddy and starts following the job at once. */
export async function submit(
  fault: string,
  size: typeof LONG,
  expected: Expected = { status: 'SUCCEEDED' },
  onUpdate?: (job: JobResult) => void,
): Promise<Tracked> {
  jobCounter += 1;
  // A new prompt each time: the text encoder keeps recent prompts' embeddings.
  const prompt = `fault ${jobCounter}: a lighthouse in a storm, wave ${jobCounter}`;
  const response = await graphqlRequest<{ submitPrompt: JobResult }>(stack.graphqlUrl, SUBMIT, {
    input: { prompt, ...size },
  });
  const id = response.data?.submitPrompt.id;
  if (id === undefined) throw new Error(`submit failed: ${JSON.stringify(response.errors)}`);
  const job: Tracked = {
    id,
    fault,
    expected,
    follower: followJob(stack.webSocketUrl, id, onUpdate),
  };
  tracked.push(job);
  return job;
}

/**
 * Retries a finished job through Caddy (`retryJob`) and starts following the new job at once;
 * the new job as `retryJob` answered it.
 */
export async function retry(
  fault: string,
  jobId: string,
): Promise<{ readonly retried: Tracked; readonly answer: JobResult & { retryOf: string | null } }> {
  const response = await graphqlRequest<{ retryJob: JobResult & { retryOf: string | null } }>(
    stack.graphqlUrl,
    `mutation Retry($id: ID!) { retryJob(id: $id) { ${JOB_FIELDS} retryOf } }`,
    { id: jobId },
  );
  const answer = response.data?.retryJob;
  if (answer === undefined) throw new Error(`retry failed: ${JSON.stringify(response.errors)}`);
  const retried: Tracked = {
    id: answer.id,
    fault,
    expected: { status: 'SUCCEEDED' },
    follower: followJob(stack.webSocketUrl, answer.id),
  };
  tracked.push(retried);
  return { retried, answer };
}

/** Resolves on the supervisor's next event of this kind for this process. */
export function nextEvent(name: string, type: SupervisorEvent['type']): Promise<SupervisorEvent> {
  return new Promise((resolve) => {
    const stop = stack.onEvent((event) => {
      if (event.name === name && event.type === type) {
        stop();
        resolve(event);
      }
    });
  });
}

/** Resolves when `check` first holds for a job's update (checked on every update). */
export function when(check: (job: JobResult) => boolean): {
  readonly onUpdate: (job: JobResult) => void;
  readonly reached: Promise<JobResult>;
} {
  let resolve!: (job: JobResult) => void;
  const reached = new Promise<JobResult>((done) => (resolve = done));
  let seen = false;
  return {
    reached,
    onUpdate: (job) => {
      if (!seen && check(job)) {
        seen = true;
        resolve(job);
      }
    },
  };
}

export const partialFiles = async (jobId: string): Promise<string[]> =>
  (await readdir(join(disk.path, jobId)).catch(() => [])).filter((name) =>
    name.endsWith('.partial'),
  );

export async function expectFinal(job: Tracked): Promise<JobResult> {
  const events = await job.follower.done;
  const last = events.at(-1)?.job;
  expect(last?.status).toBe(job.expected.status);
  if (job.expected.code !== undefined) expect(last?.error?.code).toBe(job.expected.code);
  // Never backwards, across reconnections too: each resubscription starts at the current state.
  const times = events.map((event) => Date.parse(event.job.updatedAt));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  return last as JobResult;
}

/**
 * Starts the stack, its disk and the test's own watch on Redis before the faults, and stops them
 * after.
 */
export function useFaultStack(): void {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zeus-faults-'));
    disk = await generatedDisk(join(dir, 'generated'));
    const realFfmpeg = (await run('sh', ['-c', 'command -v ffmpeg'])).stdout.trim();
    const wrapper = join(dir, 'ffmpeg-wrapper.sh');
    await writeFile(
      wrapper,
      `#!/bin/bash
  # Test-only stand-in for ffmpeg (FFMPEG_PATH): the real ffmpeg, except that the next encode after
  # the trigger file appears asks it for an encoder that does not exist.
  trigger='${join(dir, 'ffmpeg-fails-next')}'
  args=("$@")
  for i in "\${!args[@]}"; do
    if [ "\${args[$i]}" = libx264 ] && mv "$trigger" "$trigger.used" 2>/dev/null; then
      args[$i]=zeus-no-such-encoder
    fi
  done
  exec '${realFfmpeg}' "\${args[@]}"
  `,
    );
    await chmod(wrapper, 0o755);
    stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: disk.path,
      port: 0,
      workers: 1,
      env: {
        ZEUS_MODEL: 'tiny-random',
        ZEUS_DEVICE: 'cpu',
        ZEUS_MODELS_DIR: join(dir, 'models'),
        // Loaded from its file for each new prompt: fault 9 breaks that file.
        ZEUS_TEXT_ENCODER: 'on-demand',
        // "job succeeded" lines are info.
        ZEUS_LOG_LEVEL: 'info',
        ZEUS_PROGRESS_INTERVAL_MS: '0',
        // A killed worker's job comes back after about twice this.
        ZEUS_JOB_LOCK_MS: '3000',
        // Redis restarts can cost a job its lock too: it must not run out of retries.
        ZEUS_MAX_JOB_RETRIES: '5',
        ZEUS_RATE_LIMIT: 'off',
        FFMPEG_PATH: wrapper,
      },
    });
    redisWatcher = connectRedis(stack.redisUrl, { name: 'fault-watcher', role: 'background' });
    redisWatcher.on('error', () => undefined);
    redisWatcher.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      const record = JSON.parse(message) as { id: string; status: string };
      if (record.status === 'SUCCEEDED') {
        publishedSuccesses.set(record.id, (publishedSuccesses.get(record.id) ?? 0) + 1);
      }
    });
    // ioredis subscribes again by itself after Redis restarts.
    await redisWatcher.psubscribe('zeus:job-updated:*');
  }, 120_000);

  afterAll(async () => {
    try {
      await Promise.all(tracked.map((job) => job.follower.dispose().catch(() => undefined)));
      await closeRedis(redisWatcher);
      await stack.stop();
    } finally {
      // The tmpfs goes even when something above failed: a mount must not outlive the test.
      await disk.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
}

/** The API server holding the most of Caddy's open connections (WebSockets count as open). */
export async function busiestServer(): Promise<string> {
  const response = await fetchVia(stack.caddyAdminAddress, '/reverse_proxy/upstreams');
  const upstreams = (await response.json()) as { address: string; num_requests: number }[];
  const busiest = [...upstreams].sort((a, b) => b.num_requests - a.num_requests)[0];
  const name = Object.entries(stack.apiAddresses).find(
    ([, address]) => address === busiest?.address,
  )?.[0];
  if (name === undefined || (busiest?.num_requests ?? 0) === 0) {
    throw new Error(`no API server holds a WebSocket: ${JSON.stringify(upstreams)}`);
  }
  return name;
}

/** The converted T5 encoder the worker loads for each new prompt. */
export async function textEncoderModel(modelsDir: string): Promise<string> {
  const onnxDir = join(modelsDir, 'tiny-random', 'onnx');
  const found = (await readdir(onnxDir, { recursive: true })).filter(
    (path) => path.startsWith('t5-encoder') && path.endsWith('model.onnx'),
  );
  if (found.length !== 1)
    throw new Error(`expected one T5 model in ${onnxDir}: ${found.join(', ')}`);
  return join(onnxDir, found[0] ?? '');
}
