/**
 * `POST /uploads`: a first-frame image for image-to-video, sent as the raw bytes with an image
 * content type (uploads.ts says why, and why forms are refused). The same gates as GraphQL over
 * HTTP, in this order: CORS for the configured origins, the method, the API key (needed with
 * keys on), the declared content type, the rate limit, the size; then the image is judged by
 * its content and stored within its caller's and the total byte quotas.
 * Errors come in GraphQL's shape with a stable code and the matching HTTP status.
 */
import { ZeusError, type Logger, type RedisRateLimiter, type UploadStore } from '@zeus/core';
import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import { rateLimitKey } from './auth.ts';
import type { Callers } from './caller.ts';
import { formatApiError, type ErrorFormatting } from './errors.ts';
import { sendError } from './http-errors.ts';
import {
  acceptUpload,
  BodyTooLargeError,
  declaredType,
  readBody,
  UPLOAD_CONTENT_TYPES,
  UPLOADS_PATH,
} from './uploads.ts';

export interface UploadRouteOptions {
  readonly uploads: UploadStore;
  readonly callers: Callers;
  /** Counts uploads per caller; null when rate limits are off. */
  readonly limiter: RedisRateLimiter | null;
  /** `ZEUS_MAX_UPLOAD_BYTES`. */
  readonly maxBytes: number;
  /** `ZEUS_ALLOWED_ORIGINS`: foreign pages that may upload (CORS). */
  readonly allowedOrigins: readonly string[];
  readonly formatting: ErrorFormatting;
  readonly logger: Logger;
}

/** The HTTP status of each code an upload can fail with; 500 for any other. */
const UPLOAD_STATUS: Readonly<Record<string, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/** The handlers of `POST /uploads`, CORS first. */
export function uploadRoute(options: UploadRouteOptions): RequestHandler[] {
  const { uploads, callers, limiter, maxBytes, formatting, logger } = options;
  const tooLarge = (): ZeusError =>
    new ZeusError(
      'PAYLOAD_TOO_LARGE',
      `The image is larger than ${maxBytes} bytes, the most Zeus accepts ` +
        '(ZEUS_MAX_UPLOAD_BYTES).',
      { details: { field: 'image', rule: 'maxBytes', limit: maxBytes } },
    );
  const fail = (response: Response, error: unknown): void => {
    const formatted = formatApiError({ message: 'Upload failed.' }, error, formatting);
    const code = formatted.extensions?.['code'];
    response
      .status(typeof code === 'string' ? (UPLOAD_STATUS[code] ?? 500) : 500)
      .json({ errors: [formatted] });
  };

  const upload = (request: Request, response: Response): void => {
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      sendError(response, 405, 'BAD_REQUEST', `Upload an image with POST ${UPLOADS_PATH}.`);
      return;
    }
    // Security (issue 15): with keys on, an upload needs one.
    const check = callers.ofHttpRequest(request, { keyRequired: true });
    if (!check.ok) {
      sendError(response, 401, 'UNAUTHENTICATED', check.message);
      return;
    }
    if (!UPLOAD_CONTENT_TYPES.includes(declaredType(request))) {
      // Forms (multipart, urlencoded, text/plain) are refused: see uploads.ts on forgery.
      sendError(
        response,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `Send the image file itself as the body, with "Content-Type: " one of ` +
          `${UPLOAD_CONTENT_TYPES.join(', ')} (form uploads are not accepted).`,
      );
      return;
    }
    const { caller } = check;
    void (async () => {
      try {
        await limiter?.consume(rateLimitKey(caller));
        const body = await readBody(request, maxBytes).catch((error: unknown) => {
          if (error instanceof BodyTooLargeError) throw tooLarge();
          throw error;
        });
        // Security (issue 15): the upload's bytes count against its caller's quota.
        const upload = await acceptUpload(
          uploads,
          body,
          maxBytes,
          caller.keyName,
          rateLimitKey(caller),
        );
        logger.info(
          {
            uploadId: upload.id,
            type: upload.type,
            bytes: upload.bytes,
            keyName: caller.keyName,
            client: caller.address,
          },
          'image uploaded',
        );
        response.status(201).json(upload);
      } catch (error) {
        // A refused body is left unread: close the connection rather than drain it.
        if (!request.complete) response.setHeader('Connection', 'close');
        fail(response, error);
      }
    })();
  };

  return [
    cors({
      origin: options.allowedOrigins.length === 0 ? false : [...options.allowedOrigins],
      methods: ['POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key'],
      maxAge: 600,
    }),
    upload,
  ];
}
