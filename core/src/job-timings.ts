/**
 * The measured stage timings in Redis: one hash per model, one field per size class (latent
 * tokens) holding the moving averages (eta.ts). Workers add each finished job; API servers read
 * them to estimate when queued jobs start. Each worker also keeps its own averages, since its GPU
 * may differ from the others': a running job's time left comes from its worker's own figures,
 * and from the installation's until that worker has finished a job of that size.
 */
import {
  timingsFor,
  updateTimings,
  type MeasuredTimings,
  type StageTimings,
  type TimingTable,
} from './eta.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

/** How long a worker's own timings outlive its last finished job. */
export const WORKER_TIMINGS_TTL_SECONDS = 7 * 24 * 3600;

export class JobTimingsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Every size class measured for `model`. */
  async table(model: string): Promise<TimingTable> {
    const fields = await this.redis.hgetall(this.keys.jobTimings(model));
    const table = new Map<number, StageTimings>();
    for (const [tokens, json] of Object.entries(fields)) {
      table.set(Number(tokens), JSON.parse(json) as StageTimings);
    }
    return table;
  }

  /** The averages for one size class, null when none measured. */
  async get(model: string, tokens: number): Promise<StageTimings | null> {
    const json = await this.redis.hget(this.keys.jobTimings(model), String(tokens));
    return json === null ? null : (JSON.parse(json) as StageTimings);
  }

  /**
   * The averages a running job on `workerId` goes by: the worker's own for this size class, else
   * the installation's (scaled from the nearest measured size when this one is new: eta.ts);
   * null when nothing is measured yet.
   */
  async forWorker(model: string, tokens: number, workerId: string): Promise<StageTimings | null> {
    const own = await this.redis.hget(this.keys.workerJobTimings(model, workerId), String(tokens));
    if (own !== null) return JSON.parse(own) as StageTimings;
    return timingsFor(await this.table(model), tokens);
  }

  /**
   * Adds one finished job to its size class's averages, the installation's and, given
   * `workerId`, that worker's own (kept for WORKER_TIMINGS_TTL_SECONDS after its last job, so
   * the figures of workers that are gone do not pile up). Two workers finishing jobs of one
   * class at the same instant may lose one of the two samples: harmless for an average.
   */
  async record(
    model: string,
    tokens: number,
    measured: MeasuredTimings,
    workerId?: string,
  ): Promise<StageTimings> {
    const next = updateTimings((await this.get(model, tokens)) ?? undefined, measured);
    await this.redis.hset(this.keys.jobTimings(model), String(tokens), JSON.stringify(next));
    if (workerId !== undefined) {
      const key = this.keys.workerJobTimings(model, workerId);
      const previous = await this.redis.hget(key, String(tokens));
      const own = updateTimings(
        previous === null ? undefined : (JSON.parse(previous) as StageTimings),
        measured,
      );
      await this.redis
        .multi()
        .hset(key, String(tokens), JSON.stringify(own))
        .expire(key, WORKER_TIMINGS_TTL_SECONDS)
        .exec();
    }
    return next;
  }
}
