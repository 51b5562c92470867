/**
 * Uploaded first-frame images in Redis, which every API server and worker already shares (API
 * servers have no shared disk: they do not mount the videos' folder).
 *
 * - `POST /uploads` stores the checked image's bytes as they came, under a fresh id, for
 *   `ttlSeconds` (ZEUS_UPLOAD_TTL_SECONDS): unused uploads go away by themselves.
 * - Submitting a job with `imageId` copies the upload to the job (one Redis step), so the job
 *   keeps its image however long it waits in the queue, and the upload can seed other jobs until
 *   it expires. The worker reads the job's copy when it starts and deletes it once the video is
 *   made. A FAILED or CANCELLED job keeps its copy for `retryJob` until the retention sweeper
 *   removes the job's record, which removes the copy with it (`JobStore.removeFinished`); a copy
 *   no job came for expires after JOB_IMAGE_TTL_SECONDS.
 */
import { randomUUID } from 'node:crypto';
import { isJobId } from './job-store.ts';
import type { FirstFrameImage } from './job.ts';
import type { ImageInfo } from './images.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

/** How long a job's copy of its image is kept at most (a job waiting longer fails). */
export const JOB_IMAGE_TTL_SECONDS = 7 * 24 * 3600;

export interface StoredUpload extends FirstFrameImage {
  /** The API key's name that uploaded it (null without keys): only it may use the upload. */
  readonly owner: string | null;
  /** When it expires (ISO 8601). */
  readonly expiresAt: string;
}

/** COPY the upload to the job's key (replacing nothing) and give the copy its own TTL. */
const ATTACH_SCRIPT = `
if redis.call('COPY', KEYS[1], KEYS[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
`;

/** ZEUS_UPLOAD_TTL_SECONDS' default: an hour to submit the jobs an upload is for. */
export const DEFAULT_UPLOAD_TTL_SECONDS = 3600;

export class UploadStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    /** ttlSeconds: how long `put` keeps an upload (readers need not say). */
    private readonly options: { readonly ttlSeconds: number } = {
      ttlSeconds: DEFAULT_UPLOAD_TTL_SECONDS,
    },
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /** Stores a checked image; returns its description with the new upload id. */
  async put(bytes: Uint8Array, info: ImageInfo, owner: string | null): Promise<StoredUpload> {
    const upload: StoredUpload = {
      uploadId: randomUUID(),
      type: info.type,
      width: info.width,
      height: info.height,
      bytes: info.bytes,
      owner,
      expiresAt: new Date(Date.now() + this.options.ttlSeconds * 1000).toISOString(),
    };
    const key = this.keys.upload(upload.uploadId);
    await this.redis
      .multi()
      .hset(key, 'data', Buffer.from(bytes), 'meta', JSON.stringify(upload))
      .expire(key, this.options.ttlSeconds)
      .exec();
    return upload;
  }

  /** An upload's description; null when unknown or expired. */
  async describe(uploadId: string): Promise<StoredUpload | null> {
    if (!isJobId(uploadId)) return null;
    const meta = await this.redis.hget(this.keys.upload(uploadId), 'meta');
    return meta === null ? null : (JSON.parse(meta) as StoredUpload);
  }

  /** Copies an upload to a job; false when the upload is gone. */
  async attachToJob(uploadId: string, jobId: string): Promise<boolean> {
    const copied = await this.redis.eval(
      ATTACH_SCRIPT,
      2,
      this.keys.upload(uploadId),
      this.keys.jobImage(jobId),
      JOB_IMAGE_TTL_SECONDS,
    );
    return Number(copied) === 1;
  }

  /** Copies one job's image to another (a retry); false when the first has none. */
  async copyJobImage(fromJobId: string, toJobId: string): Promise<boolean> {
    const copied = await this.redis.eval(
      ATTACH_SCRIPT,
      2,
      this.keys.jobImage(fromJobId),
      this.keys.jobImage(toJobId),
      JOB_IMAGE_TTL_SECONDS,
    );
    return Number(copied) === 1;
  }

  /** A job's image bytes; null when it has none (any more). */
  async jobImage(jobId: string): Promise<Buffer | null> {
    return this.redis.hgetBuffer(this.keys.jobImage(jobId), 'data');
  }

  async removeJobImage(jobId: string): Promise<void> {
    await this.redis.del(this.keys.jobImage(jobId));
  }
}
