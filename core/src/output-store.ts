/**
 * Where generated outputs (a job's `out.mp4`, its previews) live: the local `generated/` folder
 * (the default, served by Caddy) or an S3-compatible bucket shared by workers on many machines.
 * Workers write through this interface, API servers serve and link through it, and whatever
 * removes a job's files (retention, cancel) calls `deleteJob`.
 *
 * Every output is named by its job and a file name (`<job-id>/<name>`), and its URL for API
 * users is the same for both stores: `/generated/<job-id>/<name>` on Zeus's own address. Caddy
 * serves the folder's files there; with S3, the API servers answer that path (a redirect to a
 * presigned URL, or the bytes themselves: `ZEUS_S3_DELIVERY`).
 */
import type { Readable } from 'node:stream';
import { JobFailure } from './errors.ts';
import { isJobId } from './job-record.ts';

/** The URL path under which outputs are served, on Zeus's own address. */
export const OUTPUTS_PATH = '/generated';

/** An output file's name within its job: no folders, nothing hidden. */
const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A storage failure, with a sentence for users (`STORAGE_FAILED`); the cause has the details. */
export class StorageError extends JobFailure {
  override readonly name = 'StorageError';
  constructor(message: string, cause?: unknown) {
    super('STORAGE_FAILED', message, cause);
  }
}

export interface OutputObject {
  readonly size: number;
  readonly contentType: string;
  /** A validator for caches and range requests, when the store has one. */
  readonly etag: string | null;
  readonly lastModified: Date | null;
}

/** Part of an output: bytes `start` to `end`, both included. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface OutputRead extends OutputObject {
  /** The bytes asked for: the whole output, or `range`. */
  readonly body: Readable;
  /** The part `body` holds; null for the whole output. */
  readonly range: ByteRange | null;
}

export interface OutputStore {
  readonly kind: 'local' | 's3';
  /**
   * A local folder for the job's files while they are being made (ffmpeg writes the MP4 there:
   * `+faststart` rewrites the file, so it needs a seekable file, not a stream). For the local
   * store it is the job's own folder in `generated/`, so publishing is a rename.
   */
  stagingDirectory(jobId: string): string;
  /**
   * Makes a complete local file the job's output `name`, atomically: readers see the whole file
   * or none. The local file is moved (local store) or uploaded as a stream and then removed (S3).
   * A file already at the output's place in the local store is left as it is.
   */
  publishFile(jobId: string, name: string, localPath: string, contentType: string): Promise<void>;
  /**
   * Removes the job's staging folder and what is left in it, when it is not where its outputs
   * live (S3); the local store's staging folder is the job's folder and stays.
   */
  releaseStaging(jobId: string): Promise<void>;
  /** Stores a small output held in memory (a preview image), atomically. */
  putBytes(jobId: string, name: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The output's size and type; null when there is none. */
  stat(jobId: string, name: string): Promise<OutputObject | null>;
  /**
   * Reads an output, or `range` of it (clamped to its size); null when there is none. A range
   * that starts past the end is a `RangeNotSatisfiableError`.
   */
  read(jobId: string, name: string, range?: RangeRequest): Promise<OutputRead | null>;
  /** Removes every output of the job, and its staging folder; nothing to remove is no error. */
  deleteJob(jobId: string): Promise<void>;
  /**
   * Where a browser fetches the output, supporting range requests: `/generated/<id>/<name>` for
   * the local store (Caddy serves it), a presigned or public bucket URL for S3.
   */
  deliveryUrl(jobId: string, name: string): Promise<string>;
  /** Checks that the store can be used (the folder or the bucket is there), with why not. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** A `Range: bytes=…` request: `end` absent to read to the end, `suffix` for the last N bytes. */
export type RangeRequest =
  { readonly start: number; readonly end?: number } | { readonly suffix: number };

/** The range asked for does not overlap the output (HTTP 416). */
export class RangeNotSatisfiableError extends Error {
  override readonly name = 'RangeNotSatisfiableError';
  constructor(readonly size: number) {
    super(`The range asked for is outside the output (${size} bytes).`);
  }
}

/** Whether `name` can name an output file (no folders, no dot files). */
export function isOutputName(name: string): boolean {
  return OUTPUT_NAME.test(name);
}

/** The folder (key prefix, without the slash) of a job's outputs; throws for a non-job id. */
export function jobOutputsFolder(jobId: string): string {
  if (!isJobId(jobId)) throw new RangeError(`Not a job id: ${JSON.stringify(jobId)}.`);
  return jobId;
}

/** The output's key within the store (`<job-id>/<name>`); throws for anything else. */
export function outputKey(jobId: string, name: string): string {
  if (!isOutputName(name)) throw new RangeError(`Not an output name: ${JSON.stringify(name)}.`);
  return `${jobOutputsFolder(jobId)}/${name}`;
}

/** The output's URL on Zeus's own address, the same for every store. */
export function outputPath(jobId: string, name: string): string {
  return `${OUTPUTS_PATH}/${outputKey(jobId, name)}`;
}

/** The job id and file name an output URL path names, or null when it names none. */
export function parseOutputPath(path: string): { jobId: string; name: string } | null {
  const match = /^\/generated\/([^/]+)\/([^/]+)$/.exec(path);
  if (match?.[1] === undefined || match[2] === undefined) return null;
  const [jobId, name] = [match[1], match[2]];
  return isJobId(jobId) && isOutputName(name) ? { jobId, name } : null;
}

/**
 * Reads an HTTP `Range` header (RFC 9110): one `bytes=` range. Undefined when there is none or
 * it cannot be understood (the whole output is sent then, as the RFC allows); several ranges are
 * answered with the whole output too.
 */
export function parseRangeHeader(header: string | undefined): RangeRequest | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (match === null) return undefined;
  const [first, last] = [match[1] ?? '', match[2] ?? ''];
  if (first === '' && last === '') return undefined;
  if (first === '') return { suffix: Number(last) };
  const start = Number(first);
  if (last === '') return { start };
  const end = Number(last);
  return end < start ? undefined : { start, end };
}

/** The bytes a range request covers of an output of `size` bytes (throws when none). */
export function resolveRange(request: RangeRequest, size: number): ByteRange {
  if ('suffix' in request) {
    if (request.suffix === 0 || size === 0) throw new RangeNotSatisfiableError(size);
    return { start: Math.max(0, size - request.suffix), end: size - 1 };
  }
  if (request.start >= size) throw new RangeNotSatisfiableError(size);
  return { start: request.start, end: Math.min(request.end ?? size - 1, size - 1) };
}

/** The content type of an output, from its name. */
export function outputContentType(name: string): string {
  if (name.endsWith('.mp4')) return 'video/mp4';
  if (name.endsWith('.jpg') || name.endsWith('.jpeg')) return 'image/jpeg';
  if (name.endsWith('.png')) return 'image/png';
  if (name.endsWith('.webp')) return 'image/webp';
  return 'application/octet-stream';
}
