/**
 * Checks a time to live read back from Redis against the one that was set, without a wall-clock
 * margin: it may have run down by at most the time the test measured since just before it was
 * set. `TTL` rounds to the nearest second (hence one more second); `PTTL` is exact.
 */
import { expect } from 'vitest';

export interface TtlCheck {
  /** A `TTL` answer, in seconds. */
  seconds(ttl: number): void;
  /** A `PTTL` answer, in milliseconds. */
  milliseconds(pttl: number): void;
}

/** Starts the measurement: call it just before the key is set with `setMs` to live. */
export function ttlSince(setMs: number): TtlCheck {
  const before = performance.now();
  const elapsedMs = (): number => Math.ceil(performance.now() - before);
  return {
    seconds(ttl) {
      expect(ttl).toBeLessThanOrEqual(setMs / 1_000);
      expect(ttl).toBeGreaterThanOrEqual(Math.floor((setMs - elapsedMs()) / 1_000) - 1);
    },
    milliseconds(pttl) {
      expect(pttl).toBeLessThanOrEqual(setMs);
      expect(pttl).toBeGreaterThanOrEqual(setMs - elapsedMs());
    },
  };
}
