import { FP32_FRAMES, type FrameCriterion } from './tolerances.ts';
import type { ParityResult } from './types.ts';

/** Largest |a[i] - b[i]|; NaN anywhere counts as an infinite error. Lengths must match. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`Length mismatch: ${actual.length} values against ${expected.length}`);
  }
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN));
    if (Number.isNaN(diff)) return Infinity;
    if (diff > max) max = diff;
  }
  return max;
}

/**
 * Fraction of the pixels of 8-bit frames that must equal the reference exactly, as the reference
 * manifest asks ("abs diff <= 1 (truncation boundary); expect >= 99% exact"). Counted in pixels,
 * not channel values: a pixel with one channel a level off is not exact.
 */
export const MIN_EXACT_PIXEL_FRACTION = FP32_FRAMES.minExactPixels;

/**
 * 8-bit RGB frames `[F, H, W, 3]` against the reference: by default (fp32) every value within
 * one level (the truncation boundary of ⌊255·x⌋) and at least MIN_EXACT_PIXEL_FRACTION of the
 * pixels exact; `criterion` sets other bounds (fp16, see tolerances.ts).
 */
export function frameResult(
  name: string,
  actual: Uint8Array,
  expected: Uint8Array,
  criterion: FrameCriterion = FP32_FRAMES,
): ParityResult {
  if (actual.length !== expected.length || expected.length % 3 !== 0) {
    return {
      name,
      maxAbsError: Infinity,
      tolerance: criterion.maxLevels,
      note: `${actual.length} values, expected ${expected.length} (whole RGB pixels)`,
    };
  }
  let differing = 0;
  let largest = 0;
  let differingPixels = 0;
  let lastPixel = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs((actual[i] ?? 0) - (expected[i] ?? 0));
    if (diff === 0) continue;
    differing++;
    const pixel = Math.floor(i / 3);
    if (pixel !== lastPixel) differingPixels++;
    lastPixel = pixel;
    if (diff > largest) largest = diff;
  }
  const pixelCount = expected.length / 3;
  const exactPixels = pixelCount === 0 ? 1 : 1 - differingPixels / pixelCount;
  return {
    name,
    maxAbsError: largest,
    tolerance: criterion.maxLevels,
    passed: largest <= criterion.maxLevels && exactPixels >= criterion.minExactPixels,
    note:
      `${differing} of ${expected.length} values (${differingPixels} of ${pixelCount} pixels) ` +
      `differ; ${(100 * exactPixels).toFixed(3)} % of pixels exact`,
  };
}

/** Peak signal-to-noise ratio of two 8-bit images, in dB (Infinity when equal). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
  const mse = squared / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
