/**
 * Workers announce themselves with a heartbeat key that expires: a worker is online while its
 * key exists, so a worker that dies drops out after at most one TTL with nothing to clean up.
 *
 * Each beat also leaves the worker's last heartbeat in a record that outlives the key (for
 * `goneRetentionMs`) and its time in a sorted set: the `workers` query lists every worker seen
 * within that time, ONLINE while its heartbeat key exists and GONE after, until it is dropped.
 */
import type { ModelName } from './model-rules.ts';
import type { ModelStatus } from './model-status.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface WorkerHeartbeat {
  readonly workerId: string;
  readonly model: ModelName;
  /** The execution device it runs on, as configured (`auto`, `cpu`, `cuda`, …). */
  readonly device: string;
  /**
   * The execution provider ONNX Runtime runs the model on (`cuda`, `webgpu`, `cpu`): what `auto`
   * turned out to be. Null (or absent) until the model is loaded.
   */
  readonly provider?: string | null;
  /** Where each of its models runs once loaded (the text encoder may be on the CPU). */
  readonly models?: readonly WorkerModelPlacement[];
  /**
   * Why a preferred choice was not taken, in words, once loaded: a provider `auto` passed over
   * with the loader's reason (a CUDA provider that does not load), fp16 refused by the device,
   * the attention kernel replaced.
   */
  readonly deviceNotices?: readonly string[];
  /** True once the model is loaded and the worker takes jobs. */
  readonly modelReady: boolean;
  /** Where the worker is with its model: downloading, converting, loading, ready, failed. */
  readonly modelStatus?: ModelStatus;
  /** The job it is generating, if any. */
  readonly jobId: string | null;
  readonly pid: number;
  /** The machine it runs on (Kubernetes: the node's name, ZEUS_NODE_NAME). */
  readonly hostname: string;
  readonly startedAt: string;
  readonly beatAt: string;
}

/** Where one of a worker's models runs. */
export interface WorkerModelPlacement {
  /** `transformer`, `VAE decoder`, `VAE encoder`, `text encoder`. */
  readonly component: string;
  /** `cuda`, `webgpu` or `cpu`. */
  readonly provider: string;
  /** `fp16` or `fp32`. */
  readonly precision: string;
}

export const WORKER_STATUSES = ['ONLINE', 'GONE'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/** A worker as the `workers` query shows it. */
export interface WorkerView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** The provider it runs the model on once loaded, the configured device until then. */
  readonly device: string;
  /** Where each model runs; empty until the model is loaded. */
  readonly models: readonly WorkerModelPlacement[];
  /** Why a preferred device, precision or kernel was not taken; empty when none was refused. */
  readonly deviceNotices: readonly string[];
  readonly model: ModelName;
  readonly modelReady: boolean;
  readonly modelStatus: ModelStatus | null;
  /** ONLINE while its heartbeat is fresh; GONE once it expired (the worker stopped or died). */
  readonly status: WorkerStatus;
  /** The job it was generating at its last heartbeat; null when idle, and once it is GONE. */
  readonly currentJobId: string | null;
  /** Jobs it brought to SUCCEEDED (counted per worker id, across restarts). */
  readonly jobsDone: number;
  readonly startedAt: string;
  readonly lastSeenAt: string;
}

/** How long a gone worker stays listed after its last heartbeat, unless told otherwise. */
export const DEFAULT_GONE_WORKER_RETENTION_MS = 3_600_000;

/** What the `workers` query shows of a worker's last heartbeat (pure). */
export function workerView(
  heartbeat: WorkerHeartbeat,
  online: boolean,
  jobsDone: number,
): WorkerView {
  return {
    id: heartbeat.workerId,
    host: heartbeat.hostname,
    pid: heartbeat.pid,
    device: heartbeat.provider ?? heartbeat.device,
    models: heartbeat.models ?? [],
    deviceNotices: heartbeat.deviceNotices ?? [],
    model: heartbeat.model,
    modelReady: online && heartbeat.modelReady,
    modelStatus: heartbeat.modelStatus ?? null,
    status: online ? 'ONLINE' : 'GONE',
    // A gone worker's job is not its own any more: it goes back to the queue.
    currentJobId: online ? heartbeat.jobId : null,
    jobsDone,
    startedAt: heartbeat.startedAt,
    lastSeenAt: heartbeat.beatAt,
  };
}

/** Online workers first, then by id (`worker-2` before `worker-10`). */
export function compareWorkers(a: WorkerView, b: WorkerView): number {
  if (a.status !== b.status) return a.status === 'ONLINE' ? -1 : 1;
  return a.id.localeCompare(b.id, 'en', { numeric: true });
}

export interface WorkerHeartbeatsOptions {
  /** How long a gone worker stays listed after its last heartbeat (default one hour). */
  readonly goneRetentionMs?: number;
}

export class WorkerHeartbeats {
  private readonly goneRetentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    options: WorkerHeartbeatsOptions = {},
  ) {
    this.goneRetentionMs = options.goneRetentionMs ?? DEFAULT_GONE_WORKER_RETENTION_MS;
  }

  async beat(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<void> {
    const record = JSON.stringify(heartbeat);
    const seenAt = Date.parse(heartbeat.beatAt);
    const results = await this.redis
      .multi()
      .set(this.keys.workerHeartbeat(heartbeat.workerId), record, 'PX', ttlMs)
      .set(this.keys.workerRecord(heartbeat.workerId), record, 'PX', this.goneRetentionMs)
      .zadd(this.keys.workersSeen, seenAt, heartbeat.workerId)
      .pexpire(this.keys.workerJobsDone(heartbeat.workerId), this.goneRetentionMs)
      .zremrangebyscore(this.keys.workersSeen, '-inf', `(${seenAt - this.goneRetentionMs}`)
      .exec();
    throwFirstError(results);
  }

  /** Counts a job the worker brought to SUCCEEDED. */
  async jobDone(workerId: string): Promise<void> {
    const key = this.keys.workerJobsDone(workerId);
    throwFirstError(await this.redis.multi().incr(key).pexpire(key, this.goneRetentionMs).exec());
  }

  /**
   * Takes a worker offline at once (on a clean shutdown) instead of after its TTL. It stays
   * listed, GONE, like a worker that died.
   */
  async remove(workerId: string): Promise<void> {
    await this.redis.del(this.keys.workerHeartbeat(workerId));
  }

  /**
   * Workers online now: those seen within the retention of gone workers (the sorted set every
   * beat updates) whose heartbeat key still exists. O(workers), whatever else Redis holds: no
   * SCAN of the keyspace.
   */
  async online(now: Date = new Date()): Promise<WorkerHeartbeat[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.workersSeen,
      now.getTime() - this.goneRetentionMs,
      '+inf',
    );
    if (ids.length === 0) return [];
    const records = await this.redis.mget(ids.map((id) => this.keys.workerHeartbeat(id)));
    return records.flatMap((record) => {
      // Expired (the worker is gone) or removed on a clean stop.
      if (record === null) return [];
      return [JSON.parse(record) as WorkerHeartbeat];
    });
  }

  /**
   * Every worker seen within the retention of gone workers: online ones (fresh heartbeat) and
   * gone ones (last heartbeat kept), online first.
   */
  async list(now: Date = new Date()): Promise<WorkerView[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.workersSeen,
      now.getTime() - this.goneRetentionMs,
      '+inf',
    );
    if (ids.length === 0) return [];
    const transaction = this.redis.multi();
    for (const id of ids) {
      transaction
        .get(this.keys.workerHeartbeat(id))
        .get(this.keys.workerRecord(id))
        .get(this.keys.workerJobsDone(id));
    }
    const values = throwFirstError(await transaction.exec());
    const views = ids.flatMap((_id, index) => {
      const [live, kept, done] = values.slice(index * 3, index * 3 + 3);
      const record = typeof live === 'string' ? live : typeof kept === 'string' ? kept : null;
      // Both expired between the two reads: the worker is no longer listed.
      if (record === null) return [];
      return [
        workerView(
          JSON.parse(record) as WorkerHeartbeat,
          typeof live === 'string',
          typeof done === 'string' ? Number(done) : 0,
        ),
      ];
    });
    return views.sort(compareWorkers);
  }
}

/** A MULTI's results, throwing the first command error. */
function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('Redis transaction was aborted.');
  return results.map(([error, value]) => {
    if (error !== null) throw error;
    return value;
  });
}
