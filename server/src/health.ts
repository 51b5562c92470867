/**
 * `GET /healthz`, for Caddy's health checks and compose's: ready (200) when Redis answers and
 * the server is not shutting down; otherwise 503 with what is wrong, in words for people.
 */
import { redisAddress, type Redis } from '@zeus/core';

export const HEALTH_PATH = '/healthz';

/** How long Redis gets to answer a health check's PING. */
const PING_TIMEOUT_MS = 1_000;

export interface Health {
  readonly ready: boolean;
  readonly problems: string[];
}

export interface HealthSources {
  /** The connection requests use. */
  readonly redis: Redis;
  readonly shuttingDown: () => boolean;
}

/** Ready when Redis answers and the server is not shutting down; otherwise says what is not. */
export async function checkHealth({ redis, shuttingDown }: HealthSources): Promise<Health> {
  const problems: string[] = [];
  if (shuttingDown()) problems.push('shutting down');
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_resolve, reject) => {
        setTimeout(() => {
          reject(new Error('no answer within 1 s'));
        }, PING_TIMEOUT_MS).unref();
      }),
    ]);
  } catch (error) {
    // Where, and the connection's state, before ioredis's own words (which name its options).
    problems.push(
      `redis: no answer from ${redisAddress(redis)} ` +
        `(connection ${redis.status}): ${(error as Error).message}`,
    );
  }
  return { ready: problems.length === 0, problems };
}

/** The answer's status and body. */
export function healthAnswer({ ready, problems }: Health): {
  readonly status: number;
  readonly body: { readonly status: 'ok' | 'unavailable'; readonly problems: string[] };
} {
  return { status: ready ? 200 : 503, body: { status: ready ? 'ok' : 'unavailable', problems } };
}
