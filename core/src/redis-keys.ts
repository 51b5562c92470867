/**
 * Every Redis key and channel name Zeus uses, built in one place. The prefix lets several Zeus
 * installations (or test runs) share one Redis.
 */
export class RedisKeys {
  constructor(readonly prefix: string = 'zeus') {
    if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
      throw new Error(`Redis key prefix must be letters, digits, "_" or "-" (got "${prefix}").`);
    }
  }

  /** The job record (JSON). */
  job(jobId: string): string {
    return `${this.prefix}:job:${jobId}`;
  }

  /** Sorted set of every job id, scored by submission order: the history. */
  get history(): string {
    return `${this.prefix}:jobs:history`;
  }

  /** Sorted set of queued job ids, scored by submission order: rank + 1 is the queue position. */
  get queued(): string {
    return `${this.prefix}:jobs:queued`;
  }

  /** Set of running job ids. */
  get running(): string {
    return `${this.prefix}:jobs:running`;
  }

  /**
   * Hash of every job's prompt as it is searched (job id → normalised text; job-search.ts),
   * written and removed with the job.
   */
  get promptIndex(): string {
    return `${this.prefix}:jobs:prompts`;
  }

  /** Sorted set of one API key's jobs, scored like the history: what that key may list. */
  ownerHistory(owner: string): string {
    return `${this.prefix}:jobs:history:owner:${owner}`;
  }

  /** Prefix of one rate limit's counters (`<this>:<caller>`, kept by rate-limiter-flexible). */
  rateLimit(name: string): string {
    return `${this.prefix}:rate-limit:${name}`;
  }

  /** Counter that orders submissions (history and queue scores). */
  get submissionCounter(): string {
    return `${this.prefix}:jobs:submission-counter`;
  }

  /** Pub/sub channel carrying every new state of one job (the full record, JSON). */
  jobChannel(jobId: string): string {
    return `${this.prefix}:job-updated:${jobId}`;
  }

  /** Pub/sub channel told whenever the queued set changes, so queue positions can be refreshed. */
  get queueChangedChannel(): string {
    return `${this.prefix}:queue-changed`;
  }

  /** A worker's heartbeat (JSON, with a TTL: the key's existence means the worker is online). */
  workerHeartbeat(workerId: string): string {
    return `${this.prefix}:worker:${workerId}`;
  }

  /**
   * Sorted set of every worker seen within the retention of gone workers, scored by the time of
   * its last heartbeat (ms): what the `workers` query lists, ONLINE or GONE.
   */
  get workersSeen(): string {
    return `${this.prefix}:workers:seen`;
  }

  /**
   * A worker's last heartbeat (JSON), kept after its heartbeat key expired so that the worker is
   * listed as gone for a while (the key's own TTL).
   */
  workerRecord(workerId: string): string {
    return `${this.prefix}:worker-record:${workerId}`;
  }

  /** Counter of the jobs a worker (by id, across its restarts) has brought to SUCCEEDED. */
  workerJobsDone(workerId: string): string {
    return `${this.prefix}:worker-jobs-done:${workerId}`;
  }

  /** A job's webhook delivery attempts (a list of JSON records, oldest first). */
  webhookDeliveries(jobId: string): string {
    return `${this.prefix}:job:${jobId}:webhook-deliveries`;
  }

  /**
   * Webhook events written with the job change they report and not yet handed to the delivery
   * queue (a hash: event id → JSON delivery request).
   */
  get webhookOutbox(): string {
    return `${this.prefix}:webhooks:outbox`;
  }

  /** Pub/sub channel told whenever an event enters the webhook outbox. */
  get webhookOutboxChannel(): string {
    return `${this.prefix}:webhooks:outbox-changed`;
  }

  /** A batch (JSON: its id, owner, job ids and creation time). */
  batch(batchId: string): string {
    return `${this.prefix}:batch:${batchId}`;
  }

  /** Hash of a model's measured stage timings by size class (latent tokens → JSON averages). */
  jobTimings(model: string): string {
    return `${this.prefix}:timings:${model}`;
  }

  /** The same, measured on one worker only (its device may be faster or slower than others). */
  workerJobTimings(model: string, workerId: string): string {
    return `${this.prefix}:timings:${model}:worker:${workerId}`;
  }

  /** Lock held by the one process sweeping expired jobs (`ZEUS_RETENTION`). */
  get retentionLock(): string {
    return `${this.prefix}:retention:lock`;
  }

  /** An uploaded first-frame image (hash: `data` bytes, `meta` JSON), with a TTL. */
  upload(uploadId: string): string {
    return `${this.prefix}:upload:${uploadId}`;
  }

  /**
   * Bytes uploaded in the current window (uploads.ts's quota): one caller's (its rate-limit
   * identity), or all callers' together (null).
   */
  uploadBytes(caller: string | null): string {
    return caller === null
      ? `${this.prefix}:upload-bytes:total`
      : `${this.prefix}:upload-bytes:caller:${caller}`;
  }

  /** The first-frame image of an image-to-video job (a copy of its upload's hash). */
  jobImage(jobId: string): string {
    return `${this.prefix}:job:${jobId}:image`;
  }

  /** The secret that signs links to outputs (output-links.ts), shared by every API server. */
  get outputLinkSecret(): string {
    return `${this.prefix}:output-link-secret`;
  }

  /** BullMQ's own key prefix: its keys are `<this>:<queue name>:…`. */
  get bullmqPrefix(): string {
    return `${this.prefix}:bullmq`;
  }
}
