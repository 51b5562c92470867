/**
 * Who may fetch a job's outputs (`/generated/<job-id>/<name>`: its video, poster, previews).
 *
 * With API keys off, anyone who has the link: the job id is the unguessable part, as before.
 * With keys on, only the job's owner: either through a link the API gave it (`Job.videoUrl` and
 * the others carry an expiry and a signature, core's output-links.ts: a browser's `<video>` and
 * `<img>` cannot send a key), or with the owner's key in the request's headers (scripts that
 * build the path themselves, webhook receivers).
 *
 * Caddy serves outputs from the folder itself, and asks first (`forward_auth`) at
 * `OUTPUT_AUTH_PATH` with the request's URI in `X-Forwarded-Uri` and its headers; outputs in a
 * bucket are answered by the API servers, which check the same way before they answer.
 */
import type { IncomingMessage } from 'node:http';
import {
  checkOutputLink,
  outputLinkSecret,
  outputOfUri,
  signOutputLink,
  type JobStore,
  type Redis,
  type RedisKeys,
} from '@zeus/core';
import type { RequestHandler } from 'express';
import type { ApiKeyRing } from './auth.ts';
import type { CallerCheck, Callers } from './caller.ts';
import { sendError } from './http-errors.ts';

/** Where Caddy asks whether a request for an output may be served (never routed from outside). */
export const OUTPUT_AUTH_PATH = '/output-auth';

export type OutputAccessCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: 401 | 403 | 404;
      readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';
      readonly message: string;
    };

export const OUTPUT_KEY_MESSAGE =
  'This Zeus needs an API key for videos: use the link the API gives (Job.videoUrl, valid for a ' +
  'day), or send the job owner\'s key as "Authorization: Bearer <key>" or "X-Api-Key: <key>".';
export const OUTPUT_LINK_EXPIRED_MESSAGE =
  'This link to a video has expired: ask the API for the job again to get a fresh one.';
export const OUTPUT_FOREIGN_MESSAGE =
  'This job was submitted with another API key: only its owner can fetch its videos.';

export interface OutputAccessOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly apiKeys: ApiKeyRing;
  readonly store: Pick<JobStore, 'get'>;
  readonly now?: () => number;
}

export class OutputAccess {
  #secret: Promise<Buffer> | null = null;
  readonly #now: () => number;

  constructor(private readonly options: OutputAccessOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** Whether outputs are their owner's only (API keys on). */
  get guarded(): boolean {
    return this.options.apiKeys.enabled;
  }

  /** An output's path as the API gives it to the job's owner: a signed link with keys on. */
  async link(path: string | null | undefined): Promise<string | null> {
    if (path === null || path === undefined) return null;
    if (!this.guarded) return path;
    return signOutputLink(await this.secret(), path, this.#now());
  }

  /**
   * Whether a request for `uri` (path and query) may be served, `caller` being who its headers
   * say is asking (`Callers.ofHttpRequest`, asked only when the link does not hold).
   */
  async check(uri: string, caller: () => CallerCheck): Promise<OutputAccessCheck> {
    if (!this.guarded) return { ok: true };
    const output = outputOfUri(uri);
    if (output === null) {
      return { ok: false, status: 404, code: 'NOT_FOUND', message: 'No such output.' };
    }
    const link = checkOutputLink(await this.secret(), uri, this.#now());
    if (link.ok) return { ok: true };
    // No good link: the owner's key will do.
    const asking = caller();
    if (!asking.ok) {
      return { ok: false, status: 401, code: 'UNAUTHENTICATED', message: asking.message };
    }
    const keyName = asking.caller.keyName;
    if (keyName === null) {
      const message = link.reason === 'expired' ? OUTPUT_LINK_EXPIRED_MESSAGE : OUTPUT_KEY_MESSAGE;
      return { ok: false, status: 401, code: 'UNAUTHENTICATED', message };
    }
    const job = await this.options.store.get(output.jobId);
    if (job === null) {
      return { ok: false, status: 404, code: 'NOT_FOUND', message: 'No such output.' };
    }
    if ((job.owner ?? null) !== keyName) {
      return { ok: false, status: 403, code: 'FORBIDDEN', message: OUTPUT_FOREIGN_MESSAGE };
    }
    return { ok: true };
  }

  private secret(): Promise<Buffer> {
    if (this.#secret === null) {
      const pending = outputLinkSecret(this.options.redis, this.options.keys);
      // A failure (Redis away) is not remembered: the next request asks again.
      pending.catch(() => {
        if (this.#secret === pending) this.#secret = null;
      });
      this.#secret = pending;
    }
    return this.#secret;
  }
}

/**
 * Caddy's `forward_auth` at `OUTPUT_AUTH_PATH`: 204 when the output named by `X-Forwarded-Uri`
 * may be served, else the reason (Caddy passes that answer to the client).
 */
export function outputAuthHandler(access: OutputAccess, callers: Callers): RequestHandler {
  return (request, response, next) => {
    const uri = request.headers['x-forwarded-uri'];
    if (typeof uri !== 'string') {
      sendError(response, 400, 'BAD_REQUEST', 'X-Forwarded-Uri is missing.');
      return;
    }
    answer(access, callers, uri, request, response).catch(next);
  };
}

/** Guards the outputs route itself (outputs in a bucket, answered by the API servers). */
export function outputAccessGuard(access: OutputAccess, callers: Callers): RequestHandler {
  return (request, response, next) => {
    answer(access, callers, request.originalUrl, request, response, next).catch(next);
  };
}

async function answer(
  access: OutputAccess,
  callers: Callers,
  uri: string,
  request: IncomingMessage,
  response: Parameters<RequestHandler>[1],
  next?: () => void,
): Promise<void> {
  const check = await access.check(uri, () => callers.ofHttpRequest(request));
  if (check.ok) {
    if (next === undefined) response.status(204).end();
    else next();
    return;
  }
  // Never cached: the same URI may be served once the caller sends a key or a fresh link.
  response.setHeader('Cache-Control', 'no-store');
  sendError(response, check.status, check.code, check.message);
}
