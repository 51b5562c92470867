/**
 * When jobs will start and finish, as the API shows them (`etaSeconds`, `estimatedStartAt`,
 * `estimatedFinishAt`). A running job's estimate is its worker's, written with its last update
 * and counted down since. A queued job's comes from the queue ahead of it: the running jobs'
 * remaining time, the workers with the model loaded, and the average duration of each queued
 * job's size class (eta.ts), handed out first come first served. The queue is read at most once
 * a second per server however many subscribers ask.
 */
import {
  jobSeconds,
  latentTokens,
  queueStarts,
  timingsFor,
  workersBusyFor,
  type Job,
  type JobStore,
  type JobTimingsStore,
  type ModelRules,
  type TimingTable,
  type WorkerHeartbeats,
} from '@zeus/core';

export interface JobEstimate {
  /** Seconds from now until the job starts; 0 once it runs. */
  readonly startInSeconds: number | null;
  /** Seconds from now until it is done. */
  readonly finishInSeconds: number | null;
}

const NONE: JobEstimate = { startInSeconds: null, finishInSeconds: null };

/** How long a reading of the queue serves before it is read again. */
const SNAPSHOT_MS = 1_000;

interface QueueSnapshot {
  readonly at: number;
  /** By queued job id: seconds from `at`. */
  readonly queued: ReadonlyMap<string, JobEstimate>;
}

export class JobEstimates {
  private snapshot: Promise<QueueSnapshot> | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly heartbeats: WorkerHeartbeats,
    private readonly timings: JobTimingsStore,
    private readonly rules: ModelRules,
    private readonly now: () => number = Date.now,
  ) {}

  /** The job's estimate now; nothing once it is over. */
  async of(job: Job): Promise<JobEstimate> {
    const now = this.now();
    if (job.status === 'RUNNING') {
      const finish = runningRemaining(job, now);
      return finish === null ? NONE : { startInSeconds: 0, finishInSeconds: finish };
    }
    if (job.status !== 'QUEUED') return NONE;
    let snapshot = await this.current(now);
    let found = snapshot.queued.get(job.id);
    if (found === undefined && snapshot.at < Date.parse(job.updatedAt) + SNAPSHOT_MS) {
      // Submitted after the reading: read again.
      this.snapshot = null;
      snapshot = await this.current(now);
      found = snapshot.queued.get(job.id);
    }
    if (found === undefined) return NONE;
    const age = (now - snapshot.at) / 1_000;
    const since = (seconds: number | null): number | null =>
      seconds === null ? null : Math.max(0, seconds - age);
    return {
      startInSeconds: since(found.startInSeconds),
      finishInSeconds: since(found.finishInSeconds),
    };
  }

  private current(now: number): Promise<QueueSnapshot> {
    const cached = this.snapshot;
    if (cached !== null) {
      return cached.then((snapshot) => {
        if (now - snapshot.at < SNAPSHOT_MS) return snapshot;
        this.snapshot = null;
        return this.current(now);
      });
    }
    const reading = this.read(now);
    this.snapshot = reading;
    reading.catch(() => {
      if (this.snapshot === reading) this.snapshot = null;
    });
    return reading;
  }

  private async read(now: number): Promise<QueueSnapshot> {
    const [{ queued, running }, workers, table] = await Promise.all([
      this.store.snapshot(),
      this.heartbeats.online(),
      this.timings.table(this.rules.model),
    ]);
    const ready = workers.filter((w) => w.modelReady && w.model === this.rules.model).length;
    const duration = (job: Job): number | null => {
      const timings = timingsFor(table, latentTokens(this.rules, job.settings));
      return timings === null ? null : jobSeconds(timings, job.totalSteps);
    };
    const busy = workersBusyFor(
      Math.max(ready, ready > 0 ? running.length : 0),
      running.map((job) => runningRemaining(job, now) ?? elapsedGuess(job, table, this.rules, now)),
    );
    const durations = queued.map(duration);
    const starts = queueStarts(busy, durations);
    const estimates = new Map<string, JobEstimate>();
    queued.forEach((job, index) => {
      const start = starts[index] ?? null;
      const length = durations[index] ?? null;
      estimates.set(job.id, {
        startInSeconds: start,
        finishInSeconds: start === null || length === null ? null : start + length,
      });
    });
    return { at: now, queued: estimates };
  }
}

/** A running job's remaining seconds: its worker's estimate, less the time since it was made. */
function runningRemaining(job: Job, now: number): number | null {
  if (job.etaSeconds == null) return null;
  const since = (now - Date.parse(job.updatedAt)) / 1_000;
  return Math.max(0, job.etaSeconds - Math.max(0, since));
}

/** Without an estimate from its worker: its size's average duration less the time it has run. */
function elapsedGuess(job: Job, table: TimingTable, rules: ModelRules, now: number): number | null {
  const timings = timingsFor(table, latentTokens(rules, job.settings));
  if (timings === null || job.startedAt === null) return null;
  return Math.max(
    0,
    jobSeconds(timings, job.totalSteps) - (now - Date.parse(job.startedAt)) / 1_000,
  );
}
