/**
 * Workers announce themselves with a heartbeat key that expires: a worker is online while its
 * key exists, so a worker that dies drops out after at most one TTL with nothing to clean up.
 */
import type { ModelName } from './model-rules.ts';
import type { ModelStatus } from './model-status.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface WorkerHeartbeat {
  readonly workerId: string;
  readonly model: ModelName;
  /** The execution device it runs on, as configured (`cpu`, `cuda`, …). */
  readonly device: string;
  /** True once the model is loaded and the worker takes jobs. */
  readonly modelReady: boolean;
  /** Where the worker is with its model: downloading, converting, loading, ready, failed. */
  readonly modelStatus?: ModelStatus;
  /** The job it is generating, if any. */
  readonly jobId: string | null;
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly beatAt: string;
}

export class WorkerHeartbeats {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async beat(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<void> {
    await this.redis.set(
      this.keys.workerHeartbeat(heartbeat.workerId),
      JSON.stringify(heartbeat),
      'PX',
      ttlMs,
    );
  }

  /** Takes a worker offline at once (on a clean shutdown) instead of after its TTL. */
  async remove(workerId: string): Promise<void> {
    await this.redis.del(this.keys.workerHeartbeat(workerId));
  }

  /** Workers online now. */
  async online(): Promise<WorkerHeartbeat[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(
        cursor,
        'MATCH',
        this.keys.workerHeartbeatPattern,
        'COUNT',
        1_000,
      );
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const records = await this.redis.mget(keys);
    return records.flatMap((record) => {
      // A key can expire between SCAN and MGET.
      if (record === null) return [];
      return [JSON.parse(record) as WorkerHeartbeat];
    });
  }
}
