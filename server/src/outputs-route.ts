/**
 * `GET /generated/<job-id>/<name>` when outputs live in a bucket (ZEUS_STORAGE=s3): Caddy sends
 * that path here instead of serving a folder, so videos keep the one URL (`Job.videoUrl`) that
 * works for every store. How it answers is `ZEUS_S3_DELIVERY`:
 *
 * - `redirect` (default): 302 to a presigned URL (or the public bucket's). The browser then makes
 *   its range requests to the bucket itself, and the video's bytes never pass through Zeus.
 * - `proxy`: the bytes through this server, with range requests (206, Content-Range) passed on to
 *   the bucket, for buckets that browsers cannot reach.
 *
 * Like Caddy's file server, it answers without an API key: the job id is the unguessable part.
 */
import { pipeline } from 'node:stream/promises';
import {
  parseOutputPath,
  parseRangeHeader,
  RangeNotSatisfiableError,
  StorageError,
  type Logger,
  type OutputStore,
  type S3Delivery,
} from '@zeus/core';
import type { Request, Response } from 'express';

export interface OutputsRouteOptions {
  readonly store: OutputStore;
  readonly delivery: S3Delivery;
  readonly logger: Logger;
}

/** An Express handler for GET and HEAD of `/generated/<job-id>/<name>`. */
export function outputsHandler(options: OutputsRouteOptions) {
  const { store, delivery, logger } = options;
  return (request: Request, response: Response): void => {
    const path = new URL(request.originalUrl, 'http://localhost').pathname;
    const output = parseOutputPath(path);
    if (output === null) {
      response.status(404).type('text/plain').send('No such output.\n');
      return;
    }
    const { jobId, name } = output;
    void (async () => {
      try {
        if (delivery === 'redirect') {
          if ((await store.stat(jobId, name)) === null) {
            response.status(404).type('text/plain').send('No such output.\n');
            return;
          }
          // Each request gets a freshly signed URL: nothing stale may be cached.
          response.setHeader('Cache-Control', 'no-store');
          response.redirect(302, await store.deliveryUrl(jobId, name));
          return;
        }
        await proxy(request, response, store, jobId, name);
      } catch (error) {
        if (error instanceof RangeNotSatisfiableError) {
          response.setHeader('Content-Range', `bytes */${error.size}`);
          response.status(416).type('text/plain').send(`${error.message}\n`);
          return;
        }
        logger.error({ err: error, jobId, name }, 'could not serve an output');
        if (response.headersSent) {
          response.destroy();
          return;
        }
        const message =
          error instanceof StorageError ? error.message : 'The output could not be read.';
        response.status(502).type('text/plain').send(`${message}\n`);
      }
    })();
  };
}

async function proxy(
  request: Request,
  response: Response,
  store: OutputStore,
  jobId: string,
  name: string,
): Promise<void> {
  let range = parseRangeHeader(request.headers.range);
  // If-Range with another validator (or a date): the output may have changed, so send all of
  // it (RFC 9110).
  const ifRange = request.headers['if-range'];
  if (range !== undefined && ifRange !== undefined) {
    const info = await store.stat(jobId, name);
    if (info?.etag == null || info.etag !== ifRange) range = undefined;
  }
  const read = await store.read(jobId, name, range);
  if (read === null) {
    response.status(404).type('text/plain').send('No such output.\n');
    return;
  }
  response.setHeader('Content-Type', read.contentType);
  response.setHeader('Accept-Ranges', 'bytes');
  if (read.etag !== null) response.setHeader('ETag', read.etag);
  if (read.lastModified !== null) {
    response.setHeader('Last-Modified', read.lastModified.toUTCString());
  }
  if (read.range === null) {
    response.status(200).setHeader('Content-Length', String(read.size));
  } else {
    response
      .status(206)
      .setHeader('Content-Range', `bytes ${read.range.start}-${read.range.end}/${read.size}`)
      .setHeader('Content-Length', String(read.range.end - read.range.start + 1));
  }
  if (request.method === 'HEAD') {
    read.body.destroy();
    response.end();
    return;
  }
  await pipeline(read.body, response);
}
