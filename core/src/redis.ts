/**
 * Opens connections to Redis. Every Redis connection in Zeus is made here, so connection
 * behaviour (retries, names, timeouts) is decided once.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

export type RedisRole =
  /**
   * Requests on behalf of an API user: fail after a short wait rather than hang, so the user
   * gets an error they can retry.
   */
  | 'requests'
  /**
   * Background work (BullMQ's blocking reads, pub/sub, worker updates): wait for Redis to come
   * back instead of failing, as BullMQ requires for its workers.
   */
  | 'background';

/**
 * REDIS_URL's forms: `redis://` and `rediss://` (TLS) URLs, and `unix:///path/to/redis.sock` for
 * a Redis on a Unix socket (local mode's own), with `?db=N` to pick a database.
 */
const TCP_REDIS_URL = /^rediss?:\/\/\S+$/;
const UNIX_REDIS_URL = /^unix:\/\/(\/[^?\s]+)(?:\?db=(\d+))?$/;

export const REDIS_URL_FORMS = 'a redis://, rediss:// or unix:///path/to/redis.sock URL';

/** Whether `url` is one of REDIS_URL's forms. */
export function isRedisUrl(url: string): boolean {
  return TCP_REDIS_URL.test(url) || UNIX_REDIS_URL.test(url);
}

/** A Unix socket URL for REDIS_URL. */
export function redisSocketUrl(path: string): string {
  return `unix://${path}`;
}

/** Where a REDIS_URL points, for ioredis: the URL itself, or a Unix socket's path and database. */
export function redisTarget(url: string): string | { readonly path: string; readonly db: number } {
  const socket = UNIX_REDIS_URL.exec(url);
  if (socket === null) return url;
  return { path: socket[1] ?? '', db: Number(socket[2] ?? 0) };
}

/** Where a connection goes, in words: `host:port` or the socket's path. */
export function redisAddress(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ?? `${host ?? 'localhost'}:${String(port ?? 6379)}`;
}

export function connectRedis(url: string, options: { name: string; role: RedisRole }): Redis {
  const settings: RedisOptions = {
    connectionName: options.name,
    ...(options.role === 'requests'
      ? { maxRetriesPerRequest: 2, commandTimeout: 5_000 }
      : { maxRetriesPerRequest: null }),
    // Reconnect with backoff up to 2 s: Redis restarts (AOF reload) take about that long.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  };
  const target = redisTarget(url);
  // ioredis reads `unix:` URLs loosely (host "unix", path "///…"): it gets the path itself.
  return typeof target === 'string'
    ? new Redis(target, settings)
    : new Redis({ ...target, ...settings });
}

/** Closes a connection, sending QUIT when it is up and dropping it when it is not. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // Falls through to disconnect: the connection broke while quitting.
    }
  }
  redis.disconnect();
}
