import { describe, expect, it } from 'vitest';
import { expiresAt, isExpired, parseRetention, sweepIntervalMs } from './retention.ts';

describe('retention', () => {
  it('reads durations in seconds to weeks, and off', () => {
    expect(parseRetention('7d')).toBe(7 * 86_400_000);
    expect(parseRetention(' 12H ')).toBe(12 * 3_600_000);
    expect(parseRetention('30m')).toBe(1_800_000);
    expect(parseRetention('90s')).toBe(90_000);
    expect(parseRetention('2w')).toBe(14 * 86_400_000);
    expect(parseRetention('off')).toBeNull();
    expect(parseRetention('OFF')).toBeNull();
  });

  it('refuses what it cannot read, saying what it wants', () => {
    for (const text of ['7', 'd', '7 days', '1.5h', '-1d', '1d12h', '']) {
      expect(() => parseRetention(text), text).toThrow(/duration such as 7d/);
    }
    expect(() => parseRetention('0s')).toThrow(/at least 1s/);
    expect(() => parseRetention('9999999w')).toThrow(/at most ten years/);
  });

  it('expires finished jobs that long after they finished, and never running ones', () => {
    const finished = { status: 'SUCCEEDED' as const, finishedAt: '2026-01-01T00:00:00.000Z' };
    expect(expiresAt(finished, 3_600_000)).toBe('2026-01-01T01:00:00.000Z');
    expect(expiresAt(finished, null)).toBeNull();
    expect(expiresAt({ status: 'RUNNING', finishedAt: null }, 3_600_000)).toBeNull();
    expect(isExpired(finished, 3_600_000, new Date('2026-01-01T00:59:59.999Z'))).toBe(false);
    expect(isExpired(finished, 3_600_000, new Date('2026-01-01T01:00:00.000Z'))).toBe(true);
    expect(isExpired({ status: 'QUEUED', finishedAt: null }, 1_000, new Date(8e15))).toBe(false);
  });

  it('sweeps every tenth of the retention, between 1 s and a minute', () => {
    expect(sweepIntervalMs(5_000)).toBe(1_000);
    expect(sweepIntervalMs(100_000)).toBe(10_000);
    expect(sweepIntervalMs(7 * 86_400_000)).toBe(60_000);
  });
});
