/**
 * Jobs per minute against the number of workers: the local stack (Redis, one API server, Caddy)
 * with 1, 2 and 3 workers on the tiny model (ZEUS_DEVICE=cpu), each given batches of jobs of
 * one size submitted at once, each job with its own prompt (see submit); a batch's time runs
 * from its first submission to its last SUCCEEDED record published in Redis.
 *
 * Two modes:
 *   - `compute`: the tiny model as fast as the CPU runs it. Every worker computes on the same
 *     cores, so this shows what the machine's cores allow, not what the queue allows.
 *   - `paced`: small jobs (256x256x17) whose denoising steps last at least `--workers-step-ms`
 *     (ZEUS_MIN_STEP_MS), the worker's CPU idle meanwhile, as when a GPU does the work. This shows what Zeus's own parts
 *     (queue, job store, heartbeats, ffmpeg, upload) let many workers do.
 *
 * Each stack first runs one job per worker (model warm-up), then `runs` measured batches.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis } from '@zeus/core';
import { numberListSetting, numberSetting, type Benchmark } from '../lib/benchmark.ts';
import { machineLoad } from '../lib/machine.ts';
import { figure, type Figure } from '../lib/report.ts';
import { startBenchStack, waitForReadyWorkers, type BenchStack } from '../lib/stack.ts';

const MODES = ['compute', 'paced'] as const;
/** Paced jobs are small: their time is the pacing, not the CPU's. */
const PACED_SIZE = { width: 256, height: 256, numFrames: 17, frameRate: 8 };
type Mode = (typeof MODES)[number];

interface BatchResult {
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerMinute: number;
  /** Jobs each worker ran. */
  readonly byWorker: Readonly<Record<string, number>>;
}

export const workersBenchmark: Benchmark = {
  name: 'workers',
  description: 'jobs per minute with 1, 2, 3 workers on the tiny model (compute and paced)',
  settings: {
    'workers-counts': 'worker counts to measure, comma separated (default 1,2,3)',
    'workers-jobs': 'jobs per measured batch (default 12, times --scale)',
    'workers-size': 'compute mode, each job: width,height,frames (default 512,512,33)',
    'workers-step-ms': 'paced mode: least time per denoising step (default 300)',
    'workers-modes': 'compute, paced or both (default both)',
  },
  run: async (options) => {
    const counts = numberListSetting(options, 'workers-counts', [1, 2, 3]);
    const jobs = Math.max(
      Math.max(...counts) * 2,
      Math.round(numberSetting(options, 'workers-jobs', 12) * options.scale),
    );
    const [width = 512, height = 512, numFrames = 33] = numberListSetting(
      options,
      'workers-size',
      [512, 512, 33],
    );
    const stepMs = numberSetting(options, 'workers-step-ms', 300);
    const modes = (options.settings.get('workers-modes') ?? MODES.join(',')).split(',');
    for (const mode of modes) {
      if (!(MODES as readonly string[]).includes(mode)) {
        throw new Error(`--workers-modes: unknown mode "${mode}" (${MODES.join(', ')}).`);
      }
    }
    // One models folder for every stack: the tiny model is generated and converted once.
    const modelsDir = await mkdtemp(join(tmpdir(), 'zeus-bench-models-'));
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {
      jobs,
      computeSize: { width, height, numFrames },
      pacedSize: PACED_SIZE,
      stepMs,
    };
    try {
      for (const mode of modes as Mode[]) {
        for (const count of counts) {
          const label = `${mode}, ${count} worker${count === 1 ? '' : 's'}`;
          options.log(`workers: ${label}: starting the stack`);
          const bench = await startBenchStack({
            apiServers: 1,
            workers: count,
            profileDir: options.profileDir,
            env: {
              ZEUS_MODEL: 'tiny-random',
              ZEUS_MODELS_DIR: modelsDir,
              ZEUS_DEVICE: 'cpu',
              ZEUS_LOG_LEVEL: 'warn',
              ZEUS_RATE_LIMIT: 'off',
              ZEUS_MIN_STEP_MS: mode === 'paced' ? String(stepMs) : '0',
            },
          });
          try {
            await waitForReadyWorkers(bench, count);
            const size =
              mode === 'compute' ? { width, height, numFrames, frameRate: 8 } : PACED_SIZE;
            await runBatch(bench, count, size);
            const results: BatchResult[] = [];
            const loads: number[] = [];
            for (let run = 0; run < options.runs; run += 1) {
              const result = await runBatch(bench, jobs, size);
              results.push(result);
              loads.push(machineLoad().load1);
              options.log(
                `workers: ${label}: ${result.jobs} jobs in ${result.seconds.toFixed(1)} s = ` +
                  `${result.jobsPerMinute.toFixed(1)} jobs/min (${JSON.stringify(result.byWorker)})`,
              );
            }
            figures.push(
              figure(
                'workers',
                `${mode === 'compute' ? 'tiny model on the CPU' : `paced, ${stepMs} ms/step`}: ` +
                  `${count} worker${count === 1 ? '' : 's'} ` +
                  `(${size.width}x${size.height}x${size.numFrames})`,
                'jobs/min',
                results.map((result) => result.jobsPerMinute),
                { load: loads },
              ),
            );
            details[`${mode}-${count}`] = results;
          } finally {
            await bench.stop();
          }
        }
      }
    } finally {
      await rm(modelsDir, { recursive: true, force: true });
    }
    return { figures, details };
  },
};

/** Submits `jobs` jobs at once and waits for every one to succeed (the records Redis publishes). */
async function runBatch(
  bench: BenchStack,
  jobs: number,
  size: { width: number; height: number; numFrames: number; frameRate: number },
): Promise<BatchResult> {
  const watcher = connectRedis(bench.stack.redisUrl, {
    name: 'bench-workers',
    role: 'background',
  });
  try {
    const finished = new Map<string, string>();
    const waiting = new Set<string>();
    let allDone!: () => void;
    let failed!: (error: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      allDone = resolve;
      failed = reject;
    });
    watcher.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      const record = JSON.parse(message) as { id: string; status: string; workerId: string };
      if (record.status === 'FAILED') failed(new Error(`job ${record.id} failed: ${message}`));
      if (record.status !== 'SUCCEEDED') return;
      finished.set(record.id, record.workerId);
      if (waiting.size === jobs && [...waiting].every((id) => finished.has(id))) allDone();
    });
    await watcher.psubscribe('zeus:job-updated:*');
    const started = performance.now();
    const ids = await Promise.all(Array.from({ length: jobs }, () => submit(bench, size)));
    for (const id of ids) waiting.add(id);
    if (ids.every((id) => finished.has(id))) allDone();
    await done;
    const seconds = (performance.now() - started) / 1000;
    const byWorker: Record<string, number> = {};
    for (const id of ids) {
      const worker = finished.get(id) ?? '?';
      byWorker[worker] = (byWorker[worker] ?? 0) + 1;
    }
    return { jobs, seconds, jobsPerMinute: (jobs / seconds) * 60, byWorker };
  } finally {
    await closeRedis(watcher);
  }
}

async function submit(
  bench: BenchStack,
  size: { width: number; height: number; numFrames: number; frameRate: number },
): Promise<string> {
  const response = await fetch(bench.stack.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation Submit($input: PromptInput!) { submitPrompt(input: $input) { id } }',
      // A new prompt each time: a repeated one would reuse its text encoding.
      variables: { input: { prompt: `a lighthouse in fog, take ${randomUUID()}`, ...size } },
    }),
  });
  const body = (await response.json()) as { data?: { submitPrompt?: { id: string } } };
  const id = body.data?.submitPrompt?.id;
  if (id === undefined) throw new Error(`submission failed: ${JSON.stringify(body)}`);
  return id;
}
