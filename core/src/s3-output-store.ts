/**
 * Outputs in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, …): the one module that uses the
 * AWS SDK. Objects are `<prefix><job-id>/<name>`.
 *
 * - Writing: the MP4 is finished in a local file first (ffmpeg's `+faststart` rewrites it), then
 *   streamed from that file in one PUT, or, above `multipartThresholdBytes`, in a multipart
 *   upload with at most two parts in memory. Either way the object appears whole or not at all.
 * - Reading: `deliveryUrl` is a presigned GET (or `publicUrl` + key for a public bucket or CDN),
 *   on which browsers make their range requests directly; `read` streams an object, or a range of
 *   it, for API servers that hand the bytes out themselves.
 *
 * Checksums are computed only where S3 requires them (`WHEN_REQUIRED`): the SDK's default
 * otherwise sends streamed bodies in `aws-chunked` encoding with trailing checksums, which many
 * S3-compatible servers do not decode (they store the chunk framing as the object's bytes).
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  jobOutputsFolder,
  outputKey,
  RangeNotSatisfiableError,
  resolveRange,
  StorageError,
  type OutputObject,
  type OutputRead,
  type OutputStore,
  type RangeRequest,
} from './output-store.ts';

export interface S3OutputStoreOptions {
  readonly bucket: string;
  /** Unset: AWS S3 itself. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>` (MinIO and most others). */
  readonly forcePathStyle: boolean;
  /** Folders in front of every key (`zeus/`, or empty). */
  readonly prefix: string;
  /** Static credentials; absent: the SDK's default chain (AWS_ACCESS_KEY_ID…, profiles, roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Base URL of a public bucket or CDN in front of it: delivery URLs are not signed then. */
  readonly publicUrl?: string | undefined;
  /** How long a presigned delivery URL works. */
  readonly urlExpirySeconds: number;
  /** Where files wait while they are being made (default: the system's temporary folder). */
  readonly stagingRoot?: string;
  /** Files larger than this go up in a multipart upload (default 64 MiB). */
  readonly multipartThresholdBytes?: number;
  /** Part size of multipart uploads (default 8 MiB; S3's least is 5 MiB). */
  readonly partSizeBytes?: number;
}

const MiB = 1024 * 1024;
const QUIET = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
/** Tries of one upload (a streamed body cannot be replayed by the SDK: it is opened anew). */
const UPLOAD_TRIES = 3;

export class S3OutputStore implements OutputStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  /** Uploads stream a file: the SDK cannot retry them, so the store does (`UPLOAD_TRIES`). */
  private readonly uploadClient: S3Client;
  private readonly stagingRoot: string;

  constructor(private readonly options: S3OutputStoreOptions) {
    const config = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A bucket in another region than configured answers with a redirect: follow it.
      followRegionRedirects: true,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
      // Failures are reported by the store, as StorageErrors; the SDK's own warnings would go
      // to the console, outside the logs.
      logger: QUIET,
    } as const;
    this.client = new S3Client(config);
    this.uploadClient = new S3Client({ ...config, maxAttempts: 1 });
    this.stagingRoot = options.stagingRoot ?? join(tmpdir(), 'zeus-staging');
  }

  stagingDirectory(jobId: string): string {
    return join(this.stagingRoot, jobOutputsFolder(jobId));
  }

  async publishFile(
    jobId: string,
    name: string,
    localPath: string,
    contentType: string,
  ): Promise<void> {
    const key = this.key(jobId, name);
    const { size } = await stat(localPath).catch((error: unknown) => {
      throw new StorageError(`Could not save ${name}: its local file is missing.`, error);
    });
    const threshold = this.options.multipartThresholdBytes ?? 64 * MiB;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (size <= threshold) {
          await this.uploadClient.send(
            new PutObjectCommand({
              Bucket: this.options.bucket,
              Key: key,
              Body: createReadStream(localPath),
              ContentLength: size,
              ContentType: contentType,
            }),
          );
        } else {
          await new Upload({
            client: this.client,
            params: {
              Bucket: this.options.bucket,
              Key: key,
              Body: createReadStream(localPath),
              ContentType: contentType,
            },
            partSize: this.options.partSizeBytes ?? 8 * MiB,
            queueSize: 2,
            leavePartsOnError: false,
          }).done();
        }
        break;
      } catch (error) {
        if (attempt >= UPLOAD_TRIES || !isRetryable(error)) {
          throw new StorageError(`Could not save ${name}: ${this.describe(error)}.`, error);
        }
      }
    }
    await rm(localPath, { force: true });
  }

  async releaseStaging(jobId: string): Promise<void> {
    await rm(this.stagingDirectory(jobId), { recursive: true, force: true });
  }

  async putBytes(
    jobId: string,
    name: string,
    bytes: Uint8Array,
    contentType: string,
  ): Promise<void> {
    await this.guard(`save ${name}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.key(jobId, name),
          Body: bytes,
          ContentType: contentType,
        }),
      ),
    );
  }

  async stat(jobId: string, name: string): Promise<OutputObject | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.key(jobId, name) }),
      );
      return {
        size: head.ContentLength ?? 0,
        contentType: head.ContentType ?? 'application/octet-stream',
        etag: head.ETag ?? null,
        lastModified: head.LastModified ?? null,
      };
    } catch (error) {
      if (isMissing(error)) return null;
      throw new StorageError(`Could not read ${name}: ${this.describe(error)}.`, error);
    }
  }

  async read(jobId: string, name: string, request?: RangeRequest): Promise<OutputRead | null> {
    if (request !== undefined && 'suffix' in request) {
      // Not every S3-compatible server reads `bytes=-N` right: ask for the bytes by number.
      const info = await this.stat(jobId, name);
      if (info === null) return null;
      return this.read(jobId, name, resolveRange(request, info.size));
    }
    let object;
    try {
      object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.key(jobId, name),
          ...(request === undefined ? {} : { Range: rangeHeader(request) }),
        }),
      );
    } catch (error) {
      if (isMissing(error)) return null;
      if (httpStatus(error) === 416) {
        const info = await this.stat(jobId, name);
        if (info === null) return null;
        throw new RangeNotSatisfiableError(info.size);
      }
      throw new StorageError(`Could not read ${name}: ${this.describe(error)}.`, error);
    }
    const body = object.Body;
    if (!(body instanceof Readable)) {
      throw new StorageError(`Could not read ${name}: the object store sent no body.`);
    }
    const contentRange = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(object.ContentRange ?? '');
    const size = contentRange === null ? (object.ContentLength ?? 0) : Number(contentRange[3]);
    return {
      body,
      size,
      contentType: object.ContentType ?? 'application/octet-stream',
      etag: object.ETag ?? null,
      lastModified: object.LastModified ?? null,
      range:
        contentRange === null
          ? null
          : { start: Number(contentRange[1]), end: Number(contentRange[2]) },
    };
  }

  async deleteJob(jobId: string): Promise<void> {
    const prefix = `${this.options.prefix}${jobOutputsFolder(jobId)}/`;
    await this.releaseStaging(jobId);
    await this.guard('remove the outputs', async () => {
      let token: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        // One DELETE per object: every S3-compatible server has it, unlike the batch call's
        // checksum rules; a job has a video and a few previews.
        await Promise.all(
          (page.Contents ?? []).flatMap((entry) =>
            entry.Key === undefined
              ? []
              : [
                  this.client.send(
                    new DeleteObjectCommand({ Bucket: this.options.bucket, Key: entry.Key }),
                  ),
                ],
          ),
        );
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    });
  }

  async deliveryUrl(jobId: string, name: string): Promise<string> {
    const key = this.key(jobId, name);
    if (this.options.publicUrl !== undefined) {
      return `${this.options.publicUrl.replace(/\/+$/, '')}/${key}`;
    }
    return this.guard(`link ${name}`, () =>
      getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {
        expiresIn: this.options.urlExpirySeconds,
      }),
    );
  }

  async check(): Promise<void> {
    await this.guard('use the bucket', () =>
      this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket })),
    );
  }

  close(): Promise<void> {
    this.client.destroy();
    this.uploadClient.destroy();
    return Promise.resolve();
  }

  private key(jobId: string, name: string): string {
    return `${this.options.prefix}${outputKey(jobId, name)}`;
  }

  private async guard<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw new StorageError(`Could not ${what}: ${this.describe(error)}.`, error);
    }
  }

  private describe(error: unknown): string {
    return describeS3Failure(error, {
      bucket: this.options.bucket,
      endpoint: this.options.endpoint ?? 'AWS S3',
    });
  }
}

/** The `Range` header for a range request. */
export function rangeHeader(request: RangeRequest): string {
  if ('suffix' in request) return `bytes=-${request.suffix}`;
  return `bytes=${request.start}-${request.end ?? ''}`;
}

/**
 * A failure of the object store in words for users and operators (no secrets: the endpoint and
 * bucket are settings, not credentials).
 */
export function describeS3Failure(
  error: unknown,
  where: { readonly bucket: string; readonly endpoint: string },
): string {
  const name = (error as { name?: unknown } | null)?.name;
  const code = (error as { code?: unknown } | null)?.code;
  const status = httpStatus(error);
  if (name === 'NoSuchBucket' || (name === 'NotFound' && status === 404)) {
    return `the bucket "${where.bucket}" does not exist at ${where.endpoint}`;
  }
  if (
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'CredentialsProviderError'
  ) {
    return `the object store at ${where.endpoint} refused Zeus's credentials (${name}): check ZEUS_S3_ACCESS_KEY_ID and ZEUS_S3_SECRET_ACCESS_KEY, or the AWS variables`;
  }
  if (name === 'AccessDenied' || status === 403) {
    return `the object store at ${where.endpoint} denied access to the bucket "${where.bucket}"`;
  }
  const networkCode = typeof code === 'string' ? code : undefined;
  if (
    networkCode !== undefined &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(networkCode)
  ) {
    return `the object store at ${where.endpoint} cannot be reached (${networkCode})`;
  }
  if (name === 'TimeoutError' || networkCode === 'ETIMEDOUT' || networkCode === 'ECONNRESET') {
    return `the object store at ${where.endpoint} did not answer in time`;
  }
  if (status !== undefined && status >= 500) {
    return `the object store at ${where.endpoint} failed (HTTP ${status})`;
  }
  return `the object store at ${where.endpoint} failed (${typeof name === 'string' ? name : 'unknown error'})`;
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'NoSuchKey' || (name === 'NotFound' && httpStatus(error) === 404);
}

/** Network failures and the server's own errors may pass; refusals will not. */
function isRetryable(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined) return status >= 500 || status === 429;
  return true;
}
