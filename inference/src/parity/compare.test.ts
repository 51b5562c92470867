import { describe, expect, it } from 'vitest';
import { frameResult, maxAbsDiff, MIN_EXACT_PIXEL_FRACTION } from './compare.ts';
import { passed } from './types.ts';

/** 1000 RGB pixels of a ramp, and a copy with `changed` pixels moved by `by` levels. */
function frames(changed: number, by: number, channels: 1 | 2 | 3 = 1) {
  const expected = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 250);
  const actual = Uint8Array.from(expected);
  for (let pixel = 0; pixel < changed; pixel++) {
    for (let channel = 0; channel < channels; channel++) actual[pixel * 3 + channel]! += by;
  }
  return { actual, expected };
}

describe('frameResult (8-bit frames against the reference)', () => {
  it('passes identical frames and a few pixels one level off', () => {
    const same = frames(0, 0);
    expect(passed(frameResult('v', same.actual, same.expected))).toBe(true);
    // 0.5 % of pixels, all three channels one level off.
    const { actual, expected } = frames(5, 1, 3);
    const result = frameResult('v', actual, expected);
    expect(passed(result)).toBe(true);
    expect(result.maxAbsError).toBe(1);
    expect(result.note).toBe(
      '15 of 3000 values (5 of 1000 pixels) differ; 99.500 % of pixels exact',
    );
  });

  it('fails a value two levels off, however rare', () => {
    const { actual, expected } = frames(1, 2);
    const result = frameResult('v', actual, expected);
    expect(result.maxAbsError).toBe(2);
    expect(passed(result)).toBe(false);
  });

  it('counts pixels, not values: 2 % of pixels off by one fail though 99.3 % of values match', () => {
    expect(MIN_EXACT_PIXEL_FRACTION).toBe(0.99);
    const { actual, expected } = frames(20, 1, 1);
    const result = frameResult('v', actual, expected);
    expect(result.note).toBe(
      '20 of 3000 values (20 of 1000 pixels) differ; 98.000 % of pixels exact',
    );
    expect(passed(result)).toBe(false);
    // Exactly at the bound passes.
    const atBound = frames(10, 1, 2);
    expect(passed(frameResult('v', atBound.actual, atBound.expected))).toBe(true);
  });

  it('fails frames of another size instead of comparing part of them', () => {
    const { expected } = frames(0, 0);
    const result = frameResult('v', expected.subarray(3), expected);
    expect(passed(result)).toBe(false);
    expect(result.note).toMatch(/2997 values, expected 3000/);
  });
});

describe('maxAbsDiff', () => {
  it('is the largest difference, infinite where a value is NaN', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(maxAbsDiff([1, NaN], [1, 2])).toBe(Infinity);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow(/Length mismatch/);
  });
});
