/**
 * Rate limits shared by every API server: counters live in Redis (rate-limiter-flexible, the
 * one module that uses it), so three replicas behind a load balancer enforce one limit.
 *
 * `parseRateLimit` is pure: `ZEUS_RATE_LIMIT` is `<count>/<duration>` (`30/60s`, `100/1h`,
 * `5/s`) or `off`.
 */
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from './errors.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RateLimit {
  /** Requests allowed per window. */
  readonly points: number;
  /** The window, in seconds. */
  readonly durationSeconds: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600 };
const RATE_LIMIT_PATTERN = /^(\d{1,7})\/(\d{0,7})(s|m|h)$/;

/**
 * Reads `<count>/<duration>` (duration: a whole number of `s`, `m` or `h`; the number may be left
 * out for one unit: `10/m`) or `off` (null). Throws with what is wrong.
 */
export function parseRateLimit(text: string): RateLimit | null {
  const value = text.trim().toLowerCase();
  if (value === 'off') return null;
  const match = RATE_LIMIT_PATTERN.exec(value);
  if (match === null) {
    throw new Error('must be <count>/<duration> such as 30/60s, 100/1h or 10/m, or "off"');
  }
  const points = Number(match[1]);
  const amount = match[2] === '' ? 1 : Number(match[2]);
  const durationSeconds = amount * (UNIT_SECONDS[match[3] ?? 's'] ?? 1);
  if (points < 1) throw new Error('the count must be at least 1 (or "off")');
  if (durationSeconds < 1 || durationSeconds > 86_400) {
    throw new Error('the duration must be between 1 second and 24 hours');
  }
  return { points, durationSeconds };
}

/** The limit in words, for messages: "30 per 60 seconds". */
export function describeRateLimit(limit: RateLimit): string {
  const seconds = limit.durationSeconds;
  const window =
    seconds === 1
      ? 'second'
      : seconds % 3_600 === 0
        ? seconds === 3_600
          ? 'hour'
          : `${seconds / 3_600} hours`
        : seconds % 60 === 0
          ? seconds === 60
            ? 'minute'
            : `${seconds / 60} minutes`
          : `${seconds} seconds`;
  return `${limit.points} per ${window}`;
}

/** One limited action (`what`, in words, e.g. "submissions") counted per caller in Redis. */
export class RedisRateLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    private readonly options: {
      /** Names the counters in Redis, e.g. `submit`. */
      readonly name: string;
      /** The action, plural, for the error message. */
      readonly what: string;
      readonly limit: RateLimit;
    },
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: keys.rateLimit(options.name),
      points: options.limit.points,
      duration: options.limit.durationSeconds,
    });
  }

  /**
   * Counts `count` actions by `caller` (an API key's name or a client address), a batch of jobs
   * counting as that many submissions; throws `RateLimitedError`, saying when to try again,
   * when that goes over the limit.
   */
  async consume(caller: string, count = 1): Promise<void> {
    try {
      await this.limiter.consume(caller, count);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        throw new RateLimitedError(
          this.options.what,
          describeRateLimit(this.options.limit),
          error.msBeforeNext / 1_000,
        );
      }
      throw error;
    }
  }
}
