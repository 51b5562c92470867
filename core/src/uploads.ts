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
 * - Quotas (security, issue 15): each caller (API key, or address without keys) may upload
 *   `perCallerBytes` per window of `ttlSeconds`, all callers together `totalBytes`. A window
 *   starts with its first upload and its counter expires with it; an upload lives `ttlSeconds`,
 *   so the bytes uploads hold in Redis stay below twice the quota, for one caller and for all.
 */
import { randomUUID } from 'node:crypto';
import { RateLimitedError, ZeusError } from './errors.ts';
import { isJobId } from './job-record.ts';
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

/** Bytes of uploads per window of the upload TTL: per caller, and all callers together. */
export interface UploadQuota {
  readonly perCallerBytes: number;
  readonly totalBytes: number;
}

/**
 * Counts the upload against the caller's and the total quota, then stores it; nothing when
 * either would go over (returns 1 for the caller's, 2 for the total, with the counter's ms left).
 * KEYS: upload, caller's counter, total counter. ARGV: data, meta, ttl s, bytes, per caller, total.
 */
const PUT_SCRIPT = `
local bytes = tonumber(ARGV[4])
local caller = tonumber(redis.call('GET', KEYS[2]) or '0')
if caller + bytes > tonumber(ARGV[5]) then return {1, redis.call('PTTL', KEYS[2])} end
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
if total + bytes > tonumber(ARGV[6]) then return {2, redis.call('PTTL', KEYS[3])} end
redis.call('INCRBY', KEYS[2], bytes)
redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
redis.call('INCRBY', KEYS[3], bytes)
redis.call('EXPIRE', KEYS[3], ARGV[3], 'NX')
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'meta', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {0, 0}
`;

/** No quota: as many bytes as Redis holds (tests of other things). */
const UNLIMITED: UploadQuota = {
  perCallerBytes: Number.MAX_SAFE_INTEGER,
  totalBytes: Number.MAX_SAFE_INTEGER,
};

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${Math.round((bytes / MIB) * 10) / 10} MiB`;

export class UploadStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    /**
     * ttlSeconds: how long `put` keeps an upload (readers need not say); quota: the bytes
     * uploads may hold (none by default).
     */
    private readonly options: { readonly ttlSeconds: number; readonly quota?: UploadQuota } = {
      ttlSeconds: DEFAULT_UPLOAD_TTL_SECONDS,
    },
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /**
   * Stores a checked image; returns its description with the new upload id. `caller` is who
   * the quota counts (the rate limit's identity; by default the owner). Throws RATE_LIMITED
   * over the caller's quota, SERVICE_UNAVAILABLE over the total.
   */
  async put(
    bytes: Uint8Array,
    info: ImageInfo,
    owner: string | null,
    caller: string = owner ?? '',
  ): Promise<StoredUpload> {
    const upload: StoredUpload = {
      uploadId: randomUUID(),
      type: info.type,
      width: info.width,
      height: info.height,
      bytes: info.bytes,
      owner,
      expiresAt: new Date(Date.now() + this.options.ttlSeconds * 1000).toISOString(),
    };
    const quota = this.options.quota ?? UNLIMITED;
    const [refused, leftMs] = (await this.redis.eval(
      PUT_SCRIPT,
      3,
      this.keys.upload(upload.uploadId),
      this.keys.uploadBytes(caller),
      this.keys.uploadBytes(null),
      Buffer.from(bytes),
      JSON.stringify(upload),
      this.options.ttlSeconds,
      bytes.length,
      quota.perCallerBytes,
      quota.totalBytes,
    )) as [number, number];
    const retryAfterSeconds = Math.max(1, leftMs / 1000);
    if (refused === 1) {
      throw new RateLimitedError(
        'image bytes uploaded',
        `${mib(quota.perCallerBytes)} per ${Math.round(this.options.ttlSeconds / 60)} minutes`,
        retryAfterSeconds,
      );
    }
    if (refused === 2) {
      throw new ZeusError(
        'SERVICE_UNAVAILABLE',
        `Zeus holds as many uploaded images as it may (${mib(quota.totalBytes)}): try again in ` +
          `${Math.ceil(retryAfterSeconds)} seconds.`,
        { details: { retryAfterSeconds: Math.ceil(retryAfterSeconds) }, retryable: true },
      );
    }
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
