/**
 * How soon and how well the stack handles one job's life, on the tiny model with each denoising
 * step paced as a GPU would take it (ZEUS_MIN_STEP_MS), two workers on one queue: the figures the
 * end-to-end tests no longer hold to a bound, since a busy machine stretches them at will.
 *
 *   - time left: the worker's estimate at a job's middle step against what the rest of the job
 *     then took (both from the job's own records, the worker's clock), after one warm-up job per
 *     worker of that size;
 *   - cancel: from the `cancelJob` answer to the job queued behind it running on the worker the
 *     cancelled job had (the other worker is busy with a job of its own meanwhile);
 *   - lost job: from SIGKILL of the worker running a job to that job running on the other worker
 *     (the bound is ZEUS_JOB_LOCK_MS + min(ZEUS_JOB_LOCK_MS, 5 s); the killed worker is restarted
 *     and waited for before the next run).
 *
 * The records are read as Redis publishes them (a pattern subscription of its own), so no API
 * server or WebSocket delay is counted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis, lostJobReturnBoundMs, type Redis } from '@zeus/core';
import { numberSetting, type Benchmark } from '../lib/benchmark.ts';
import { machineLoad, round } from '../lib/machine.ts';
import { figure } from '../lib/report.ts';
import { startBenchStack, waitForReadyWorkers, type BenchStack } from '../lib/stack.ts';

const SIZE = { width: 256, height: 256, numFrames: 17, frameRate: 8 };

/** A job record as Redis publishes it, with when this process received it. */
interface Received {
  readonly id: string;
  readonly status: string;
  readonly stage: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly etaSeconds: number | null;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly workerId: string | null;
  readonly receivedAt: number;
}

export const jobsBenchmark: Benchmark = {
  name: 'jobs',
  description: 'time-left accuracy, cancel to next job, lost job back (tiny model, paced steps)',
  settings: {
    'jobs-step-ms': 'least time per denoising step (default 250)',
    'jobs-lock-ms': 'ZEUS_JOB_LOCK_MS, how long a lost worker holds its job (default 2000)',
  },
  run: async (options) => {
    const stepMs = numberSetting(options, 'jobs-step-ms', 250);
    const lockMs = numberSetting(options, 'jobs-lock-ms', 2_000);
    const modelsDir = await mkdtemp(join(tmpdir(), 'zeus-bench-models-'));
    options.log('jobs: starting the stack (2 workers)');
    const bench = await startBenchStack({
      apiServers: 1,
      workers: 2,
      profileDir: options.profileDir,
      env: {
        ZEUS_MODEL: 'tiny-random',
        ZEUS_MODELS_DIR: modelsDir,
        ZEUS_DEVICE: 'cpu',
        ZEUS_LOG_LEVEL: 'warn',
        ZEUS_RATE_LIMIT: 'off',
        ZEUS_PROGRESS_INTERVAL_MS: '0',
        ZEUS_MIN_STEP_MS: String(stepMs),
        ZEUS_JOB_LOCK_MS: String(lockMs),
      },
    });
    const records = await RecordFeed.open(bench);
    try {
      await waitForReadyWorkers(bench, 2);
      // One job per worker first: each learns how long this size's stages take.
      await Promise.all([
        records.finished(await submit(bench)),
        records.finished(await submit(bench)),
      ]);
      const etaErrors: number[] = [];
      const cancelMs: number[] = [];
      const lostMs: number[] = [];
      const loads: number[] = [];
      for (let run = 0; run < options.runs; run += 1) {
        etaErrors.push(await timeLeftError(bench, records));
        cancelMs.push(await cancelToNext(bench, records));
        lostMs.push(await lostJobBack(bench, records));
        loads.push(machineLoad().load1);
        options.log(
          `jobs: run ${run + 1}: time left ${round(etaErrors.at(-1) ?? 0, 1)} % off, next job ` +
            `${Math.round(cancelMs.at(-1) ?? 0)} ms after a cancel, lost job back in ` +
            `${Math.round(lostMs.at(-1) ?? 0)} ms`,
        );
      }
      const bound = lostJobReturnBoundMs(lockMs);
      return {
        figures: [
          figure('jobs', `time left at mid-job, off by (${stepMs} ms/step)`, '%', etaErrors, {
            load: loads,
          }),
          figure('jobs', 'cancel answered → next job running', 'ms', cancelMs, { load: loads }),
          figure(
            'jobs',
            `lost job running again (lock ${lockMs} ms, bound ${bound} ms)`,
            'ms',
            lostMs,
            {
              goal: { better: 'lower', target: bound, text: `≤ ${bound}` },
              load: loads,
            },
          ),
        ],
        details: { stepMs, lockMs, size: SIZE, etaErrors, cancelMs, lostMs },
      };
    } finally {
      await records.close();
      await bench.stop();
      await rm(modelsDir, { recursive: true, force: true });
    }
  },
};

/** One job: its estimate at the middle step against the time it then took, in % of the latter. */
async function timeLeftError(bench: BenchStack, records: RecordFeed): Promise<number> {
  const id = await submit(bench);
  const all = await records.finished(id);
  const final = all.at(-1);
  const mid = all.find(
    (record) => record.stage === 'DENOISING' && record.step === record.totalSteps / 2,
  );
  if (final?.finishedAt == null || mid?.etaSeconds == null) {
    throw new Error(`job ${id}: no estimate at its middle step`);
  }
  const actualMs = Date.parse(final.finishedAt) - Date.parse(mid.updatedAt);
  return (Math.abs(mid.etaSeconds * 1_000 - actualMs) / actualMs) * 100;
}

/**
 * Two jobs run, one on each worker, a third waits; the first is cancelled at its second step,
 * and the third then runs on its worker: the time from the cancel's answer to that.
 */
async function cancelToNext(bench: BenchStack, records: RecordFeed): Promise<number> {
  const first = await submit(bench);
  const other = await submit(bench);
  const next = await submit(bench);
  const atStep = await records.until(first, (r) => r.stage === 'DENOISING' && r.step >= 2);
  await graphql(bench, 'mutation ($id: ID!) { cancelJob(id: $id) { id } }', { id: first });
  const cancelledAt = performance.now();
  const running = await records.until(next, (r) => r.status === 'RUNNING');
  if (running.workerId !== atStep.workerId) {
    throw new Error(`the next job ran on ${running.workerId}, not on the cancelled job's worker`);
  }
  await Promise.all([records.finished(other), records.finished(next)]);
  return running.receivedAt - cancelledAt;
}

/** A job's worker is killed at its first step; the time until the other worker runs it. */
async function lostJobBack(bench: BenchStack, records: RecordFeed): Promise<number> {
  const id = await submit(bench);
  const running = await records.until(id, (r) => r.status === 'RUNNING' && r.step >= 1);
  const victim = running.workerId;
  if (victim === null) throw new Error(`job ${id} runs on no worker`);
  // Restarted by the supervisor: the next run has two workers again.
  bench.stack.kill(victim.replace(/^local-/, ''), 'SIGKILL', { restart: true });
  const killedAt = performance.now();
  const rescued = await records.until(
    id,
    (r) => r.status === 'RUNNING' && r.workerId !== null && r.workerId !== victim,
  );
  await records.finished(id);
  await waitForReadyWorkers(bench, 2);
  return rescued.receivedAt - killedAt;
}

/** Every job record Redis publishes, by job, and waiting for one that matches. */
class RecordFeed {
  private readonly byJob = new Map<string, Received[]>();
  private readonly waiters: {
    id: string;
    test: (r: Received) => boolean;
    done: (r: Received) => void;
  }[] = [];

  private constructor(private readonly watcher: Redis) {
    watcher.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      const record = {
        ...(JSON.parse(message) as Omit<Received, 'receivedAt'>),
        receivedAt: performance.now(),
      };
      this.byJob.set(record.id, [...(this.byJob.get(record.id) ?? []), record]);
      for (const waiter of [...this.waiters]) {
        if (waiter.id === record.id && waiter.test(record)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.done(record);
        }
      }
    });
  }

  static async open(bench: BenchStack): Promise<RecordFeed> {
    const watcher = connectRedis(bench.stack.redisUrl, { name: 'bench-jobs', role: 'background' });
    await watcher.psubscribe('zeus:job-updated:*');
    return new RecordFeed(watcher);
  }

  /** The first record of job `id` that passes `test`, seen already or to come. */
  until(id: string, test: (record: Received) => boolean): Promise<Received> {
    const seen = (this.byJob.get(id) ?? []).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ id, test, done: resolve }));
  }

  /** Every record of job `id` once it is final (SUCCEEDED; anything else fails the benchmark). */
  async finished(id: string): Promise<readonly Received[]> {
    const final = await this.until(id, (r) => !['QUEUED', 'RUNNING'].includes(r.status));
    if (final.status !== 'SUCCEEDED' && final.status !== 'CANCELLED') {
      throw new Error(`job ${id} ended ${final.status}`);
    }
    return this.byJob.get(id) ?? [];
  }

  async close(): Promise<void> {
    await closeRedis(this.watcher);
  }
}

async function graphql(
  bench: BenchStack,
  query: string,
  variables: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await fetch(bench.stack.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  if (body.data == null) throw new Error(`GraphQL request failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function submit(bench: BenchStack): Promise<string> {
  const data = await graphql(
    bench,
    'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }',
    // A new prompt each time: a repeated one would reuse its text encoding.
    { input: { prompt: `a lighthouse in fog, take ${randomUUID()}`, ...SIZE } },
  );
  return (data['submitPrompt'] as { id: string }).id;
}
