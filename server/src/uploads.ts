/**
 * First-frame images for image-to-video: `POST /uploads` and their use by submissions.
 *
 * Why an upload endpoint, not a base64 field in `submitPrompt`: GraphQL bodies are capped at
 * 64 KiB (limits.ts), far below a photo, and a base64 image would also travel through the
 * query parser, the logs and every retry of the mutation. The endpoint takes the raw bytes with
 * an image content type and answers with an id that `PromptInput.imageId` refers to; one upload
 * can seed several jobs (a batch, Run again) until it expires.
 *
 * Request forgery: browsers let another site's form POST only `text/plain`,
 * `multipart/form-data` or `application/x-www-form-urlencoded` without asking; the endpoint
 * refuses those (415) and takes `image/png`, `image/jpeg`, `image/webp` or
 * `application/octet-stream`, which a cross-site page can only send after a CORS preflight that
 * fails unless `ZEUS_ALLOWED_ORIGINS` lists it: the same rule as Apollo's CSRF prevention. The
 * declared type only gates that; the image's type is judged by its content (core images.ts).
 */
import type { IncomingMessage } from 'node:http';
import {
  inspectImage,
  InvalidInputError,
  type FirstFrameImage,
  type Job,
  type UploadStore,
} from '@zeus/core';

export const UPLOADS_PATH = '/uploads';

/** Content types an upload may declare (see the module comment for why only these). */
export const UPLOAD_CONTENT_TYPES: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/webp',
  'application/octet-stream',
];

/** The upload's answer: its id and what it is. */
export interface UploadAnswer extends FirstFrameImage {
  readonly id: string;
  readonly expiresAt: string;
}

/** The declared content type (lower case, without parameters), or '' when absent. */
export function declaredType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * Reads a request body of at most `maxBytes`, refusing larger ones from their Content-Length
 * before reading and stopping as soon as more arrives.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

/** Checks and stores one upload. Throws ImageRejectedError for a bad image. */
export async function acceptUpload(
  uploads: UploadStore,
  body: Uint8Array,
  maxBytes: number,
  owner: string | null,
  caller: string,
): Promise<UploadAnswer> {
  const info = await inspectImage(body, maxBytes);
  const stored = await uploads.put(body, info, owner, caller);
  return {
    id: stored.uploadId,
    uploadId: stored.uploadId,
    type: stored.type,
    width: stored.width,
    height: stored.height,
    bytes: stored.bytes,
    expiresAt: stored.expiresAt,
  };
}

/** What submissions do with first-frame images. */
export class FirstFrames {
  constructor(private readonly uploads: UploadStore) {}

  /**
   * The first frame an `imageId` names, for a job of `owner`; BAD_USER_INPUT when the upload is
   * unknown, expired, or another API key's.
   */
  async describe(
    imageId: string | null | undefined,
    owner: string | null,
  ): Promise<FirstFrameImage | undefined> {
    if (imageId == null) return undefined;
    const upload = await this.uploads.describe(imageId);
    if (upload === null || (upload.owner ?? null) !== owner) {
      throw new InvalidInputError([
        {
          field: 'imageId',
          rule: 'imageId',
          message:
            `imageId must be the id of an image uploaded with POST /uploads in the last ` +
            `${Math.round(this.uploads.ttlSeconds / 60)} minutes (with the same API key); ` +
            `no such upload. Upload the image again.`,
        },
      ]);
    }
    const { uploadId, type, width, height, bytes } = upload;
    return { uploadId, type, width, height, bytes };
  }

  /**
   * Gives each image-to-video job its copy of the image: from its upload, or for a retry from
   * the job it retries (which keeps its copy). BAD_USER_INPUT when it is gone.
   */
  async attach(jobs: readonly Job[], retryOf?: string): Promise<void> {
    for (const job of jobs) {
      const image = job.settings.image;
      if (image === undefined) continue;
      const copied =
        (retryOf !== undefined && (await this.uploads.copyJobImage(retryOf, job.id))) ||
        (await this.uploads.attachToJob(image.uploadId, job.id));
      if (!copied) {
        await this.detach(jobs);
        throw new InvalidInputError([
          {
            field: 'imageId',
            rule: 'imageId',
            message: `The first-frame image (upload ${image.uploadId}) has expired: upload it again.`,
          },
        ]);
      }
    }
  }

  /** Removes the jobs' copies (their submission failed). */
  async detach(jobs: readonly Job[]): Promise<void> {
    await Promise.all(
      jobs
        .filter((job) => job.settings.image !== undefined)
        .map((job) => this.uploads.removeJobImage(job.id).catch(() => undefined)),
    );
  }
}
