/**
 * Signed links to a job's outputs (`/generated/<job-id>/<name>`), for installs with API keys:
 * a video, poster or preview is then reachable only through a link the API gave the job's owner,
 * or with the owner's key. Browsers cannot send a key with `<video src>` or `<img src>`, so the
 * API hands out each output's path with an expiry and an HMAC of both
 * (`?exp=<unix seconds>&sig=<base64url>`), and Caddy asks an API server whether a request's link
 * holds before it serves the file (`forward_auth`, server/src/output-auth.ts).
 *
 * The expiry is rounded up to the hour, so a job's links stay the same for an hour and browsers
 * can cache what they fetched; a link lives between `LINK_LIFETIME_MS` and an hour more. The
 * secret is shared by every API server through Redis (`outputLinkSecret`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseOutputPath } from './output-store.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

/** A link is good for at least this long after the API gave it. */
export const LINK_LIFETIME_MS = 24 * 60 * 60 * 1000;
const ROUND_MS = 60 * 60 * 1000;

/** Why a request for an output was refused (or which output it names). */
export type OutputLinkCheck =
  | { readonly ok: true; readonly jobId: string; readonly name: string }
  | {
      readonly ok: false;
      readonly reason: 'not-an-output' | 'unsigned' | 'expired' | 'bad-signature';
    };

function signature(secret: Buffer, path: string, expires: number): Buffer {
  return createHmac('sha256', secret).update(`${path}\n${expires}`).digest();
}

/** `path` (an output's path, as jobs record it) with an expiry and a signature, from `nowMs`. */
export function signOutputLink(secret: Buffer, path: string, nowMs: number): string {
  const expires = Math.ceil((nowMs + LINK_LIFETIME_MS) / ROUND_MS) * (ROUND_MS / 1000);
  const sig = signature(secret, path, expires).toString('base64url');
  return `${path}${path.includes('?') ? '&' : '?'}exp=${expires}&sig=${sig}`;
}

/**
 * Checks a request's URI (path and query, as Caddy forwards it) at `nowMs`: an output's path with
 * a signature made by `secret` that has not expired.
 */
export function checkOutputLink(secret: Buffer, uri: string, nowMs: number): OutputLinkCheck {
  const url = outputUrl(uri);
  const output = url === null ? null : parseOutputPath(url.pathname);
  if (url === null || output === null) return { ok: false, reason: 'not-an-output' };
  const expires = url.searchParams.get('exp');
  const sig = url.searchParams.get('sig');
  if (expires === null || sig === null || !/^\d{1,12}$/.test(expires)) {
    return { ok: false, reason: 'unsigned' };
  }
  const expected = signature(secret, url.pathname, Number(expires));
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  if (Number(expires) * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, ...output };
}

/** The job an output URI names (signed or not), or null when it names none. */
export function outputOfUri(uri: string): { jobId: string; name: string } | null {
  const url = outputUrl(uri);
  return url === null ? null : parseOutputPath(url.pathname);
}

function outputUrl(uri: string): URL | null {
  if (!uri.startsWith('/')) return null;
  try {
    return new URL(uri, 'http://zeus.invalid');
  } catch {
    return null;
  }
}

/**
 * The link-signing secret every API server shares: 32 random bytes, made by the first server
 * that asks and kept in Redis (with the jobs, so links outlive restarts).
 */
export async function outputLinkSecret(redis: Redis, keys: RedisKeys): Promise<Buffer> {
  const key = keys.outputLinkSecret;
  await redis.set(key, randomBytes(32).toString('hex'), 'NX');
  const secret = await redis.get(key);
  if (secret === null || !/^[0-9a-f]{64}$/.test(secret)) {
    throw new Error(`Redis holds no valid output link secret at ${key}.`);
  }
  return Buffer.from(secret, 'hex');
}
