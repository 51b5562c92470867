/**
 * The worker's Prometheus metrics (prom-client): jobs by outcome, failures by code, time per
 * stage, the model's state and GPU memory where nvidia-smi reports it. Served with the health
 * check by `status-server.ts`.
 */
import type { JobErrorCode, WorkStage } from '@zeus/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a job left this worker. */
export type JobOutcome =
  /** SUCCEEDED. */
  | 'succeeded'
  /** FAILED, with a code (`zeus_worker_job_failures_total`). */
  | 'failed'
  /** Handed back to the queue because the worker is stopping. */
  | 'released'
  /** Taken over by a retry or finished elsewhere: this attempt stopped. */
  | 'superseded'
  /** CANCELLED by a user (`cancelJob`) while it ran: stopped, its files removed. */
  | 'cancelled';

export interface GpuMemoryReading {
  readonly usedBytes: number;
  readonly totalBytes: number;
}

export interface WorkerMetricsOptions {
  readonly model: string;
  readonly device: string;
  /** GPU memory now, or undefined when the provider reports none (no NVIDIA driver). */
  readonly gpuMemory?: () => Promise<GpuMemoryReading | undefined>;
}

/** Stage durations go from milliseconds (tiny model) to minutes (the real one on a CPU). */
const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800];

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'outcome'>;
  private readonly failures: Counter<'code'>;
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly jobSeconds: Histogram<'outcome'>;
  private readonly modelReady: Gauge;
  private readonly busy: Gauge;
  private readonly lastHeartbeat: Gauge;
  private current: { stage: WorkStage; since: number; jobStarted: number } | null = null;

  constructor(options: WorkerMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ model: options.model, device: options.device });
    collectDefaultMetrics({ register: this.registry });
    this.jobs = new Counter({
      name: 'zeus_worker_jobs_total',
      help: 'Jobs this worker ended, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'zeus_worker_job_failures_total',
      help: 'Jobs this worker failed, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'zeus_worker_stage_duration_seconds',
      help: 'Time a job spent in each stage on this worker.',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.jobSeconds = new Histogram({
      name: 'zeus_worker_job_duration_seconds',
      help: 'Time from taking a job to ending it, by outcome.',
      labelNames: ['outcome'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.modelReady = new Gauge({
      name: 'zeus_worker_model_ready',
      help: '1 once the model is loaded and the worker takes jobs.',
      registers,
    });
    this.busy = new Gauge({
      name: 'zeus_worker_busy',
      help: '1 while the worker is generating a job.',
      registers,
    });
    this.lastHeartbeat = new Gauge({
      name: 'zeus_worker_last_heartbeat_timestamp_seconds',
      help: 'When the worker last wrote its heartbeat to Redis (Unix time).',
      registers,
    });
    const gpuMemory = options.gpuMemory;
    if (gpuMemory !== undefined) {
      // Labelled and reset on each scrape: without a reading, the gauges have no samples at all.
      let reading: Promise<GpuMemoryReading | undefined> | null = null;
      const read = (): Promise<GpuMemoryReading | undefined> => {
        reading ??= gpuMemory()
          .catch(() => undefined)
          .finally(() => {
            reading = null;
          });
        return reading;
      };
      for (const [name, help, pick] of [
        ['zeus_gpu_memory_used_bytes', 'GPU memory in use (nvidia-smi).', 'usedBytes'],
        ['zeus_gpu_memory_total_bytes', 'GPU memory in all (nvidia-smi).', 'totalBytes'],
      ] as const) {
        new Gauge({
          name,
          help,
          labelNames: ['gpu'],
          registers,
          async collect() {
            this.reset();
            const now = await read();
            if (now !== undefined) this.set({ gpu: '0' }, now[pick]);
          },
        });
      }
    }
  }

  setModelReady(ready: boolean): void {
    this.modelReady.set(ready ? 1 : 0);
  }

  heartbeatWritten(at: Date): void {
    this.lastHeartbeat.set(at.getTime() / 1_000);
  }

  /** A job was taken: its stages are timed from now. */
  jobStarted(now = performance.now()): void {
    this.busy.set(1);
    this.current = { stage: 'LOADING_MODEL', since: now, jobStarted: now };
  }

  /** The job reported a stage; the time in the previous one is recorded when it changes. */
  stage(stage: WorkStage, now = performance.now()): void {
    const current = this.current;
    if (current === null || current.stage === stage) return;
    this.stageSeconds.observe({ stage: current.stage }, (now - current.since) / 1_000);
    this.current = { ...current, stage, since: now };
  }

  /** The job left this worker. */
  jobEnded(outcome: JobOutcome, failureCode?: JobErrorCode, now = performance.now()): void {
    const current = this.current;
    this.current = null;
    this.busy.set(0);
    this.jobs.inc({ outcome });
    if (failureCode !== undefined) this.failures.inc({ code: failureCode });
    if (current === null) return;
    // Only a finished job's last stage is complete; an interrupted one would skew the figures.
    if (outcome === 'succeeded') {
      this.stageSeconds.observe({ stage: current.stage }, (now - current.since) / 1_000);
    }
    this.jobSeconds.observe({ outcome }, (now - current.jobStarted) / 1_000);
  }
}
