/**
 * Opens connections to Redis. Every Redis connection in Zeus is made here, so connection
 * behaviour (retries, names, timeouts) is decided once.
 */
import { Redis } from 'ioredis';

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

export function connectRedis(url: string, options: { name: string; role: RedisRole }): Redis {
  return new Redis(url, {
    connectionName: options.name,
    ...(options.role === 'requests'
      ? { maxRetriesPerRequest: 2, commandTimeout: 5_000 }
      : { maxRetriesPerRequest: null }),
    // Reconnect with backoff up to 2 s: Redis restarts (AOF reload) take about that long.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
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
