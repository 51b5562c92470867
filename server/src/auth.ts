/**
 * API keys (`ZEUS_API_KEYS`): who may submit, follow and read jobs. Pure apart from hashing.
 *
 * The setting is a comma-separated list of `name:key` pairs. A key is 16 to 256 characters of
 * letters, digits and `-._~+/=`; instead of the key itself, `name:sha256:<64 hex digits>` gives
 * the SHA-256 of it, so the environment need not hold the key. Names (1 to 64 letters, digits,
 * `.`, `_`, `-`) are what jobs record as their owner and what rate limits count.
 *
 * Only SHA-256 digests are kept in memory; a presented key is hashed and compared with every
 * known digest in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { addressIdentity } from '@zeus/core';

export interface ApiKey {
  readonly name: string;
  readonly digest: Buffer;
}

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_PATTERN = /^[A-Za-z0-9._~+/=-]{16,256}$/;
const DIGEST_PATTERN = /^sha256:([0-9a-fA-F]{64})$/;

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Reads `ZEUS_API_KEYS`. Throws with every problem found (never echoing a key). An empty list is
 * an error: leave the variable unset to run without keys.
 */
export function parseApiKeys(text: string): ApiKey[] {
  const problems: string[] = [];
  const keys: ApiKey[] = [];
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) problems.push('no keys given (leave it unset to run without keys)');
  entries.forEach((entry, index) => {
    const at = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) {
      problems.push(`${at} must be name:key`);
      return;
    }
    const name = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (!NAME_PATTERN.test(name)) {
      problems.push(`${at}: the name must be 1 to 64 letters, digits, ".", "_" or "-"`);
      return;
    }
    const digest = DIGEST_PATTERN.exec(secret)?.[1];
    if (digest !== undefined) {
      keys.push({ name, digest: Buffer.from(digest, 'hex') });
    } else if (KEY_PATTERN.test(secret)) {
      keys.push({ name, digest: sha256(secret) });
    } else {
      problems.push(
        `${at} (${name}): the key must be 16 to 256 letters, digits or "-._~+/=", ` +
          'or sha256:<64 hex digits>',
      );
    }
  });
  const names = keys.map((key) => key.name);
  for (const name of new Set(names.filter((name, i) => names.indexOf(name) !== i))) {
    problems.push(`the name ${name} is given more than once`);
  }
  const digests = keys.map((key) => key.digest.toString('hex'));
  if (new Set(digests).size !== digests.length) problems.push('the same key is given twice');
  if (problems.length > 0) throw new Error(problems.join('; '));
  return keys;
}

/** Looks presented keys up among the configured ones. */
export class ApiKeyRing {
  constructor(private readonly keys: readonly ApiKey[]) {}

  /** The keys' names. */
  get names(): readonly string[] {
    return this.keys.map((key) => key.name);
  }

  /** True when keys are configured, so protected operations need one. */
  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /**
   * The name of the key, or null when it is not one of ours. Compares against every digest,
   * each in constant time, so the time taken says nothing about which key came close.
   */
  nameOf(presented: string): string | null {
    const digest = sha256(presented);
    let found: string | null = null;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.digest) && found === null) found = key.name;
    }
    return found;
  }
}

/** Headers as Node gives them: lower-case names, a string or several. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * The key a request carries: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. Undefined when
 * it carries none; an `Authorization` header of another scheme counts as none.
 */
export function keyFromHeaders(headers: HeaderBag): string | undefined {
  const authorization = single(headers['authorization'])?.trim();
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer?.[1] !== undefined) return bearer[1];
  const apiKey = single(headers['x-api-key'])?.trim();
  return apiKey === undefined || apiKey === '' ? undefined : apiKey;
}

/**
 * The key a WebSocket's `connection_init` carries: `{ apiKey }`, or an `authorization` /
 * `x-api-key` entry as in HTTP headers (any case).
 */
export function keyFromConnectionParams(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const entries = Object.entries(params as Record<string, unknown>);
  const apiKey = entries.find(([name]) => name.toLowerCase() === 'apikey')?.[1];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  const headers: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  }
  return keyFromHeaders(headers);
}

/** Who is asking: the API key's name when one was given, and the client's address. */
export interface Caller {
  /** Null when no key was given (allowed only while keys are off, or for public queries). */
  readonly keyName: string | null;
  readonly address: string;
}

/** Outcome of checking a request's key. */
export type KeyCheck =
  | { readonly ok: true; readonly keyName: string | null }
  | { readonly ok: false; readonly message: string };

export const INVALID_KEY_MESSAGE =
  'The API key is not valid. Check it, or ask the operator of this Zeus for one.';

/**
 * Checks the key a request carries. No key is fine here (operations that need one say so); a
 * key that is not ours is refused. Without keys configured, any key is ignored.
 */
export function checkKey(ring: ApiKeyRing, presented: string | undefined): KeyCheck {
  if (presented === undefined || !ring.enabled) return { ok: true, keyName: null };
  const keyName = ring.nameOf(presented);
  return keyName === null ? { ok: false, message: INVALID_KEY_MESSAGE } : { ok: true, keyName };
}

/**
 * `checkKey`, and with keys on a key is needed: for routes that store a tenant's data outside
 * GraphQL (`POST /uploads`), where no resolver asks for one.
 */
export function requireKey(ring: ApiKeyRing, presented: string | undefined): KeyCheck {
  if (ring.enabled && presented === undefined) return { ok: false, message: KEY_REQUIRED_MESSAGE };
  return checkKey(ring, presented);
}

export const KEY_REQUIRED_MESSAGE =
  'This Zeus needs an API key: send it as "Authorization: Bearer <key>" (or "X-Api-Key: <key>"), ' +
  'or as connectionParams.apiKey on the WebSocket.';

/**
 * The identity limits count a caller by (rate limits, quotas, the queue's share): its key's
 * name, else its address, IPv6 by its /64 (core's client-address.ts).
 */
export function rateLimitKey(caller: Caller): string {
  return caller.keyName === null
    ? `ip:${addressIdentity(caller.address)}`
    : `key:${caller.keyName}`;
}
