/**
 * Fault injection against the real local stack (Redis with its append-only file, three API
 * servers behind Caddy, one worker on the tiny model, on the CPU): each part of Zeus fails in
 * turn while jobs are queued, running and followed, and nothing may be lost.
 *
 *   1. the worker is killed (SIGKILL) mid-job          6. generated/ becomes read-only
 *   2. Redis is stopped cleanly (SIGTERM)              7. generated/ fills up
 *   3. Redis is killed (SIGKILL)                       8. ffmpeg fails for one job (then retried)
 *   4. an API server holding subscribers is killed     9. the model fails for one job
 *   5. Caddy reloads its configuration
 *
 * Every job is followed through Caddy by a client that reconnects by itself, as the web app and
 * the CLI do. The end prints a summary (faults, jobs submitted, finished, lost, duplicate
 * completions) and asserts that nothing was lost and nothing completed twice. A completion is
 * counted at the source twice over: SUCCEEDED records published by Redis (a pattern
 * subscription of the test's own) and "job succeeded" lines in the worker's log, across all of
 * its lives.
 *
 * Faults 6 and 7 need a disk of their own: a small tmpfs, mounted when the test runs as root
 * with the right to mount; elsewhere they are skipped and the summary says why. Fault 8 points
 * FFMPEG_PATH at a wrapper that runs the real ffmpeg but, once, asks it for an encoder that does
 * not exist; the failed job is then retried (retryJob) and must succeed with the same settings
 * and seed. Fault 9 corrupts the converted text-encoder model on disk, which the worker opens
 * for each new prompt (ZEUS_TEXT_ENCODER=on-demand), then puts it back.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeRedis, connectRedis, type Redis } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchVia } from '../../deploy/endpoints.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import type { SupervisorEvent } from '../../deploy/supervisor.ts';
import { eventually } from '../helpers/eventually.ts';
import { followJob, type FollowedJob } from '../helpers/follow-job.ts';
import { generatedDisk, type GeneratedDisk } from '../helpers/generated-disk.ts';
import { graphqlRequest, JOB_FIELDS, SUBMIT, type JobResult } from '../helpers/graphql.ts';

const run = promisify(execFile);

/** About 5 s on an idle 2-core machine: long enough to break things while it runs. */
const LONG = { width: 768, height: 512, numFrames: 121, frameRate: 24 };
const SHORT = { width: 256, height: 256, numFrames: 17, frameRate: 12 };
const FAULT_TIMEOUT_MS = 120_000;

interface Expected {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly code?: string;
}

interface Tracked {
  readonly id: string;
  readonly fault: string;
  readonly expected: Expected;
  readonly follower: FollowedJob;
}

let stack: LocalStack;
let dir: string;
let disk: GeneratedDisk;
let redisWatcher: Redis;
const tracked: Tracked[] = [];
const faults: { readonly name: string; readonly outcome: string }[] = [];
/** SUCCEEDED records Redis published, per job id. */
const publishedSuccesses = new Map<string, number>();
let jobCounter = 0;
/** Reconnections of followers that are not in `tracked` (fault 4's extra subscribers). */
let extraReconnections = 0;

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

/** Submits through Caddy and starts following the job at once. */
async function submit(
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
async function retry(
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
function nextEvent(name: string, type: SupervisorEvent['type']): Promise<SupervisorEvent> {
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
function when(check: (job: JobResult) => boolean): {
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

const partialFiles = async (jobId: string): Promise<string[]> =>
  (await readdir(join(disk.path, jobId)).catch(() => [])).filter((name) =>
    name.endsWith('.partial'),
  );

async function expectFinal(job: Tracked): Promise<JobResult> {
  const events = await job.follower.done;
  const last = events.at(-1)?.job;
  expect(last?.status).toBe(job.expected.status);
  if (job.expected.code !== undefined) expect(last?.error?.code).toBe(job.expected.code);
  // Never backwards, across reconnections too: each resubscription starts at the current state.
  const times = events.map((event) => Date.parse(event.job.updatedAt));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  return last as JobResult;
}

describe('faults, with nothing lost', () => {
  it(
    '1. a worker killed mid-job: its job runs again, succeeds once, leaves no partial file',
    async () => {
      const decoding = when((job) => job.status === 'RUNNING' && job.stage === 'DECODING');
      const job = await submit('worker SIGKILL', LONG, { status: 'SUCCEEDED' }, decoding.onUpdate);
      const behind = await submit('worker SIGKILL', SHORT);
      await decoding.reached;
      const workerBefore = stack.pid('worker-1');
      const restarted = nextEvent('worker-1', 'spawned');
      stack.kill('worker-1', 'SIGKILL');
      faults.push({
        name: 'worker SIGKILL while decoding',
        outcome: 'restarted by the supervisor',
      });
      await restarted;
      // What the killed attempt was writing is still there until the job runs again.
      const leftBehind = await eventually(async () => {
        const files = await partialFiles(job.id);
        if (files.length === 0) throw new Error('no partial file yet');
        return files;
      }, 5_000).catch(() => []);

      const last = await expectFinal(job);
      expect(last).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
      const events = job.follower.events.map((event) => event.job);
      const firstRetry = events.findIndex((event) => event.attempts === 2);
      expect(events.slice(0, firstRetry).some((event) => event.stage === 'DECODING')).toBe(true);
      // Back to RUNNING from the start, then on to the end.
      expect(events[firstRetry]).toMatchObject({ status: 'RUNNING', stage: 'LOADING_MODEL' });
      expect(events.filter((event) => event.status === 'SUCCEEDED')).toHaveLength(1);
      // The video, its poster and the job's live previews, and nothing half-written.
      const files = await readdir(join(disk.path, job.id));
      expect(files.filter((name) => !/^preview-\d+\.jpg$/.test(name)).sort()).toEqual([
        'out.mp4',
        'poster.jpg',
      ]);
      await expectFinal(behind);
      expect(stack.pid('worker-1')).not.toBe(workerBefore);
      faults[faults.length - 1] = {
        name: 'worker SIGKILL while decoding',
        outcome: `retried (attempt 2), ${leftBehind.length} partial file(s) cleaned up`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const number = signal === 'SIGTERM' ? 2 : 3;
    it(
      `${number}. Redis ${signal === 'SIGTERM' ? 'stopped cleanly' : 'killed'} with jobs queued and running`,
      async () => {
        const finishedBefore = tracked.filter((job) => job.expected.status === 'SUCCEEDED')[0];
        const running = when((job) => job.status === 'RUNNING' && job.stage === 'DENOISING');
        const long = await submit(
          `Redis ${signal}`,
          LONG,
          { status: 'SUCCEEDED' },
          running.onUpdate,
        );
        const queued = [
          await submit(`Redis ${signal}`, SHORT),
          await submit(`Redis ${signal}`, SHORT),
        ];
        await running.reached;
        const restarted = nextEvent('redis', 'spawned');
        stack.kill('redis', signal);
        faults.push({ name: `Redis ${signal} with 1 job running, 2 queued`, outcome: 'restarted' });
        await restarted;

        // Servers and the worker reconnect by themselves; subscribers get every final state.
        for (const job of [long, ...queued]) await expectFinal(job);
        const attempts = long.follower.last()?.attempts ?? 0;
        faults[faults.length - 1] = {
          name: `Redis ${signal} with 1 job running, 2 queued`,
          outcome: `restarted; the running job finished (attempt ${attempts}), the queued ones too`,
        };
        // A job finished before the restart is still there, with its video.
        if (finishedBefore !== undefined) {
          const kept = await graphqlRequest<{ job: JobResult }>(
            stack.graphqlUrl,
            `{ job(id: "${finishedBefore.id}") { status videoUrl } }`,
          );
          expect(kept.data?.job).toMatchObject({ status: 'SUCCEEDED' });
        }
        // New work is taken again.
        const after = await eventually(() => submit(`Redis ${signal}`, SHORT), 20_000);
        await expectFinal(after);
      },
      FAULT_TIMEOUT_MS,
    );
  }

  it(
    '4. an API server killed under its subscribers: they move to the others and miss nothing',
    async () => {
      const running = when((job) => job.status === 'RUNNING' && job.stage === 'DENOISING');
      const long = await submit(
        'API server SIGKILL',
        LONG,
        { status: 'SUCCEEDED' },
        running.onUpdate,
      );
      // More subscribers of the same job: least_conn spreads their sockets over the servers.
      const subscribed = Array.from({ length: 5 }, () => when(() => true));
      const extra = subscribed.map(({ onUpdate }) =>
        followJob(stack.webSocketUrl, long.id, onUpdate),
      );
      await Promise.all(subscribed.map(({ reached }) => reached));
      await running.reached;
      const victim = await busiestServer();
      const exited = nextEvent(victim, 'exited');
      const back = nextEvent(victim, 'spawned');
      stack.kill(victim, 'SIGKILL');
      faults.push({ name: `API server SIGKILL (${victim}) with subscribers`, outcome: '' });
      await exited;
      // Caddy stops sending to it: the first request it sends there fails (Caddy 2.6.2 cannot
      // retry a request with a body after a refused connection), which takes the server out
      // (passive health check); every request after that is answered by the others.
      let answered = 0;
      const failures: { status: number; afterMs: number }[] = [];
      const killedAt = Date.now();
      const server = { back: false };
      void back.then(() => (server.back = true));
      while (!server.back || answered < 5) {
        const response = await fetch(stack.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ system { model } }' }),
        });
        const text = await response.text();
        if (response.status === 200) {
          expect(JSON.parse(text)).toEqual({ data: { system: { model: 'tiny-random' } } });
          answered += 1;
        } else {
          failures.push({ status: response.status, afterMs: Date.now() - killedAt });
        }
      }
      expect(failures.length).toBeLessThanOrEqual(1);
      for (const failure of failures) expect(failure).toMatchObject({ status: 502 });
      const followers = [long.follower, ...extra];
      const finals = await Promise.all(followers.map((follower) => follower.done));
      for (const events of finals) expect(events.at(-1)?.job.status).toBe('SUCCEEDED');
      await expectFinal(long);
      const moved = followers.filter((follower) => follower.drops.length > 0);
      expect(moved.length).toBeGreaterThan(0);
      for (const follower of moved) {
        // Subscribed again on the new connection: its first event there is the job's state at
        // that moment, never older than what the follower had already seen.
        const index = follower.events.findIndex((event) => event.connection > 0);
        expect(index).toBeGreaterThan(0);
        const before = Date.parse(follower.events[index - 1]?.job.updatedAt ?? '');
        expect(Date.parse(follower.events[index]?.job.updatedAt ?? '')).toBeGreaterThanOrEqual(
          before,
        );
      }
      for (const follower of followers) {
        const times = follower.events.map((event) => Date.parse(event.job.updatedAt));
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }
      extraReconnections += extra.reduce((sum, follower) => sum + follower.drops.length, 0);
      await Promise.all(extra.map((follower) => follower.dispose()));
      faults[faults.length - 1] = {
        name: `API server SIGKILL (${victim}) with subscribers`,
        outcome:
          `${moved.length} subscriber(s) reconnected; ${answered} requests answered by the ` +
          `others, ${failures.length} got 502 before Caddy left it out`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '5. Caddy reloaded with clients connected: they reconnect and miss nothing',
    async () => {
      const running = when((job) => job.status === 'RUNNING' && job.stage === 'DENOISING');
      const long = await submit('Caddy reload', LONG, { status: 'SUCCEEDED' }, running.onUpdate);
      await running.reached;
      const config = await (await fetchVia(stack.caddyAdminAddress, '/config/')).text();
      // Caddy 2.6 skips a reload of the same configuration unless told to revalidate.
      const reload = await fetchVia(stack.caddyAdminAddress, '/load', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cache-control': 'must-revalidate' },
        body: config,
      });
      expect(reload.status).toBe(200);
      faults.push({ name: 'Caddy configuration reload', outcome: '' });
      await expectFinal(long);
      const answer = await graphqlRequest(stack.graphqlUrl, '{ system { model } }');
      expect(answer.status).toBe(200);
      faults[faults.length - 1] = {
        name: 'Caddy configuration reload',
        outcome:
          long.follower.drops.length > 0
            ? `WebSocket closed (${long.follower.drops.join(', ')}; 2.6.2 has no stream_close_delay), client reconnected`
            : 'WebSocket kept open',
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '6. generated/ read-only: that job fails with STORAGE_FAILED, the worker takes the next',
    async (context) => {
      if (disk.cannot.readOnly !== undefined) {
        faults.push({ name: 'generated/ read-only', outcome: `skipped: ${disk.cannot.readOnly}` });
        context.skip();
      }
      const worker = stack.pid('worker-1');
      await disk.makeReadOnly();
      faults.push({ name: `generated/ read-only (${disk.kind})`, outcome: '' });
      const refused = await submit('read-only disk', SHORT, {
        status: 'FAILED',
        code: 'STORAGE_FAILED',
      });
      const failed = await expectFinal(refused).finally(() => disk.makeWritable());
      expect(failed.error?.message).toMatch(
        /^The video could not be saved: (the video folder is read-only|the worker may not write to the video folder)\.$/,
      );
      await expectFinal(await submit('read-only disk', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: `generated/ read-only (${disk.kind})`,
        outcome: `job failed: "${failed.error?.message ?? ''}"; next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '7. generated/ full: that job fails with STORAGE_FAILED, the worker takes the next',
    async (context) => {
      if (disk.cannot.full !== undefined) {
        faults.push({ name: 'generated/ full', outcome: `skipped: ${disk.cannot.full}` });
        context.skip();
      }
      const worker = stack.pid('worker-1');
      await disk.fill();
      faults.push({ name: 'generated/ full (tmpfs)', outcome: '' });
      const refused = await submit('full disk', SHORT, {
        status: 'FAILED',
        code: 'STORAGE_FAILED',
      });
      const failed = await expectFinal(refused).finally(() => disk.unfill());
      expect(failed.error?.message).toBe('The video could not be saved: the disk is full.');
      expect(await partialFiles(refused.id)).toEqual([]);
      await expectFinal(await submit('full disk', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: 'generated/ full (tmpfs)',
        outcome: `job failed: "${failed.error?.message ?? ''}"; next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '8. ffmpeg fails for one job: it fails with ENCODER_FAILED, its retry succeeds, the next job runs',
    async () => {
      const worker = stack.pid('worker-1');
      await writeFile(join(dir, 'ffmpeg-fails-next'), '');
      faults.push({ name: 'ffmpeg: unknown encoder for one job', outcome: '' });
      const broken = await submit('ffmpeg', SHORT, { status: 'FAILED', code: 'ENCODER_FAILED' });
      const failed = await expectFinal(broken);
      expect(failed.error?.message).toBe('The video encoder (ffmpeg) failed.');
      expect(await partialFiles(broken.id)).toEqual([]);
      // retryJob on the FAILED job: a new job with its settings and seed, which succeeds; the
      // failed job stays as it was.
      const { retried, answer } = await retry('ffmpeg (retry)', broken.id);
      expect(answer.id).not.toBe(broken.id);
      expect(answer.retryOf).toBe(broken.id);
      expect(answer.settings).toEqual(failed.settings);
      const succeeded = await expectFinal(retried);
      expect(succeeded.settings).toEqual(failed.settings);
      expect(succeeded.videoUrl).toBe(`/generated/${retried.id}/out.mp4`);
      expect(await readdir(join(disk.path, retried.id))).toContain('out.mp4');
      await expectFinal(await submit('ffmpeg', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: 'ffmpeg: unknown encoder for one job',
        outcome: `job failed: "${failed.error?.message ?? ''}"; its retry and the next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '9. the model fails for one job (corrupt model file): MODEL_FAILED, the next job runs',
    async () => {
      const worker = stack.pid('worker-1');
      const model = await textEncoderModel(join(dir, 'models'));
      const intact = `${model}.intact`;
      await rename(model, intact);
      await writeFile(model, 'this is not an ONNX model');
      faults.push({ name: 'model: corrupt text-encoder file for one job', outcome: '' });
      const broken = await submit('model', SHORT, { status: 'FAILED', code: 'MODEL_FAILED' });
      const failed = await expectFinal(broken).finally(() => rename(intact, model));
      expect(failed.error?.message).toBe('The model failed while generating the video.');
      await expectFinal(await submit('model', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: 'model: corrupt text-encoder file for one job',
        outcome: `job failed: "${failed.error?.message ?? ''}"; next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it('lost no job and completed none twice (summary)', async () => {
    const finals = await Promise.all(
      tracked.map(async (job) => {
        const response = await graphqlRequest<{ job: JobResult }>(
          stack.graphqlUrl,
          `{ job(id: "${job.id}") { status error { code } } }`,
        );
        return { job, stored: response.data?.job ?? null };
      }),
    );
    const settled = (job: Tracked, stored: JobResult | null): boolean =>
      stored !== null &&
      stored.status === job.expected.status &&
      (job.expected.code === undefined || stored.error?.code === job.expected.code);
    const lost = finals.filter(({ job, stored }) => !settled(job, stored));
    const missedFinal = tracked.filter(
      (job) => job.follower.last()?.status !== job.expected.status,
    );

    // Completions at the source: Redis's publications and the worker's log, all its lives.
    const log = await readFile(join(stack.logDir, 'worker-1.log'), 'utf8');
    const loggedSuccesses = new Map<string, number>();
    for (const line of log.split('\n')) {
      if (!line.includes('"job succeeded"')) continue;
      const { jobId } = JSON.parse(line) as { jobId: string };
      loggedSuccesses.set(jobId, (loggedSuccesses.get(jobId) ?? 0) + 1);
    }
    const duplicates = tracked.reduce(
      (sum, job) =>
        sum +
        Math.max(
          0,
          (publishedSuccesses.get(job.id) ?? 0) - 1,
          (loggedSuccesses.get(job.id) ?? 0) - 1,
        ),
      0,
    );
    const system = await graphqlRequest<{ system: { queueLength: number; running: number } }>(
      stack.graphqlUrl,
      '{ system { queueLength running } }',
    );
    const leftoverPartials = (await Promise.all(tracked.map((job) => partialFiles(job.id)))).flat();
    const summary = {
      faultsInjected: faults.filter((fault) => !fault.outcome.startsWith('skipped')).length,
      faultsSkipped: faults.filter((fault) => fault.outcome.startsWith('skipped')).length,
      jobsSubmitted: tracked.length,
      jobsFinished: finals.filter(
        ({ stored }) =>
          stored !== null && stored.status !== 'QUEUED' && stored.status !== 'RUNNING',
      ).length,
      jobsSucceeded: finals.filter(({ stored }) => stored?.status === 'SUCCEEDED').length,
      jobsFailedAsIntended: finals.filter(
        ({ job, stored }) => job.expected.status === 'FAILED' && settled(job, stored),
      ).length,
      jobsLost: lost.length,
      duplicateCompletions: duplicates,
      finalStatesMissedBySubscribers: missedFinal.length,
      subscriberReconnections:
        extraReconnections + tracked.reduce((sum, job) => sum + job.follower.drops.length, 0),
      partialFilesLeft: leftoverPartials.length,
    };
    console.log(
      [
        '',
        'Fault injection summary',
        ...faults.map((fault, index) => `  ${index + 1}. ${fault.name}: ${fault.outcome}`),
        ...Object.entries(summary).map(([name, value]) => `  ${name}: ${value}`),
        '',
      ].join('\n'),
    );
    expect(lost.map(({ job, stored }) => ({ id: job.id, fault: job.fault, stored }))).toEqual([]);
    expect(summary).toMatchObject({
      jobsLost: 0,
      duplicateCompletions: 0,
      finalStatesMissedBySubscribers: 0,
      partialFilesLeft: 0,
    });
    expect(summary.jobsFinished).toBe(summary.jobsSubmitted);
    expect(system.data?.system).toEqual({ queueLength: 0, running: 0 });
    // Every process is up and healthy again, the worker says so on its status port, and its
    // metrics counted the failures of faults 6 to 9 (it has run since fault 1's restart).
    const workerHealth = await fetchVia(stack.workerStatusAddresses['worker-1'] ?? '', '/healthz');
    expect(await workerHealth.json()).toMatchObject({ status: 'ok', problems: [] });
    const metrics = await (
      await fetchVia(stack.workerStatusAddresses['worker-1'] ?? '', '/metrics')
    ).text();
    for (const code of ['ENCODER_FAILED', 'MODEL_FAILED']) {
      expect(metrics).toMatch(
        new RegExp(`zeus_worker_job_failures_total\\{code="${code}"[^}]*\\} 1`),
      );
    }
  });
});

/** The API server holding the most of Caddy's open connections (WebSockets count as open). */
async function busiestServer(): Promise<string> {
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
async function textEncoderModel(modelsDir: string): Promise<string> {
  const onnxDir = join(modelsDir, 'tiny-random', 'onnx');
  const found = (await readdir(onnxDir, { recursive: true })).filter(
    (path) => path.startsWith('t5-encoder') && path.endsWith('model.onnx'),
  );
  if (found.length !== 1)
    throw new Error(`expected one T5 model in ${onnxDir}: ${found.join(', ')}`);
  return join(onnxDir, found[0] ?? '');
}
