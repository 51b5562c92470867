/**
 * Removes expired jobs (`ZEUS_RETENTION`): their files first, then their records, so a crash in
 * between leaves a record whose files are gone (removed again next time), never files nobody
 * knows of. One sweeper at a time across all processes: each sweep holds a lock in Redis.
 *
 * It walks the history from the oldest job and stops at the first job created less than the
 * retention ago: every later job was created later still, so it finished later and has not
 * expired either. Old jobs still queued or running are stepped over.
 */
import type { Logger } from './logger.ts';
import type { JobStore } from './job-store.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';
import { isExpired, sweepIntervalMs } from './retention.ts';

/** Deletes the lock only if it is still ours (it may have expired and been taken since). */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** How long one sweep may hold the lock: a sweep that dies lets another take over after this. */
const LOCK_MS = 60_000;
/** Jobs read from the history at a time. */
const PAGE = 200;
/** Removals per sweep at most, so one sweep stays well within its lock. */
const MAX_REMOVALS = 2_000;

export interface RetentionSweeperOptions {
  readonly retentionMs: number;
  /** Who holds the lock (a worker's id), for the lock's value and the logs. */
  readonly holder: string;
  /** Removes a job's files (its video folder); must succeed when there are none. */
  readonly removeFiles: (jobId: string) => Promise<void>;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface SweepResult {
  /** Jobs removed; null when another process held the lock. */
  readonly removed: number | null;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: JobStore,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: RetentionSweeperOptions,
  ) {}

  /** One sweep, if no other process is sweeping. */
  async sweep(): Promise<SweepResult> {
    const token = `${this.options.holder}:${process.pid}:${Date.now()}`;
    const locked = await this.redis.set(this.keys.retentionLock, token, 'PX', LOCK_MS, 'NX');
    if (locked === null) return { removed: null };
    try {
      return { removed: await this.removeExpired() };
    } finally {
      await this.redis.eval(RELEASE_SCRIPT, 1, this.keys.retentionLock, token);
    }
  }

  /** Sweeps now and then every tenth of the retention (1 s to 1 min), until `stop`. */
  start(): void {
    const tick = (): void => {
      this.running = this.sweep()
        .then(({ removed }) => {
          if (removed !== null && removed > 0) {
            this.options.logger.info({ removed }, 'expired jobs removed');
          }
        })
        .catch((error: unknown) => {
          this.options.logger.error({ err: error }, 'retention sweep failed');
        })
        .finally(() => {
          if (this.timer !== null) {
            this.timer = setTimeout(tick, sweepIntervalMs(this.options.retentionMs));
          }
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops sweeping, waiting for a sweep under way. */
  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = null;
    if (timer !== null) clearTimeout(timer);
    await this.running;
  }

  private async removeExpired(): Promise<number> {
    const now = this.options.now?.() ?? new Date();
    const { retentionMs, logger } = this.options;
    let after = 0;
    let removed = 0;
    for (;;) {
      const entries = await this.store.oldest(PAGE, after);
      if (entries.length === 0) return removed;
      for (const { job, order } of entries) {
        after = order;
        if (job === null) continue;
        if (Date.parse(job.createdAt) + retentionMs > now.getTime()) return removed;
        if (!isExpired(job, retentionMs, now)) continue;
        await this.options.removeFiles(job.id);
        if (await this.store.removeFinished(job)) {
          removed += 1;
          logger.debug({ jobId: job.id }, 'expired job removed');
          if (job.batchId != null) await this.store.removeBatchIfEmpty(job.batchId);
        }
        if (removed >= MAX_REMOVALS) return removed;
      }
    }
  }
}
