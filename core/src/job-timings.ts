/**
 * The measured stage timings in Redis: one hash per model, one field per size class (latent
 * tokens) holding the moving averages (eta.ts). Workers add each finished job; API servers read
 * them to estimate when queued jobs start.
 */
import { updateTimings, type MeasuredTimings, type StageTimings, type TimingTable } from './eta.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

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
   * Adds one finished job to its size class's averages. Two workers finishing jobs of one class
   * at the same instant may lose one of the two samples: harmless for an average.
   */
  async record(model: string, tokens: number, measured: MeasuredTimings): Promise<StageTimings> {
    const next = updateTimings((await this.get(model, tokens)) ?? undefined, measured);
    await this.redis.hset(this.keys.jobTimings(model), String(tokens), JSON.stringify(next));
    return next;
  }
}
