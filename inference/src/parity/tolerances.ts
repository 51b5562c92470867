/**
 * The tolerance of each compared tensor, by the run's precision (docs/PARITY.md has the reasons
 * and the errors measured on the golden set).
 *
 * fp32: the reference manifest's `tolerances_max_abs_fp32` (what an independent fp32
 * implementation is expected to reach), else the defaults below, the golden set's values. They
 * hold on every provider: a GPU provider computes in fp32 too, only in another order.
 *
 * fp16: the graphs store weights, and most activations between kernels, in float16, whose unit
 * roundoff is u = 2⁻¹¹ ≈ 4.9e-4 (relative). A value of magnitude M then carries an error of
 * about u·M from its last rounding alone, and the roundings of the layers before it add up.
 * On the golden set the measured error, in units of u·max|reference| of the tensor compared,
 * is at most 2.6 for T5, 0.7 for the transformer, 1.9 for the VAE decoder's blocks and
 * output, 1.1 for the pipeline's steps and 1.9 for its video, and 6.1 at the decoder's last
 * PixelNorm (it divides each pixel by its own RMS, so an error relative to that pixel's
 * scale becomes one relative to the tensor's largest value). The
 * tolerance is FP16_RELATIVE = 16 times u·max|reference|: 2.6 times the worst measured, 6 times
 * all the others, since other reference sets have more layers and other weights. A
 * manifest's `tolerances_max_abs_fp16` (same keys) overrides it. What fp16 leaves exact
 * (the scheduler and the rotary tables, computed in JavaScript) keeps its fp32 bound.
 */
import type { Reference } from './reference.ts';
import type { ParityTarget } from './types.ts';

/** Unit roundoff of float16 (half the distance from 1 to the next float16). */
export const FP16_UNIT_ROUNDOFF = 2 ** -11;

/** fp16 tolerance in units of u·max|reference| (see the file comment). */
export const FP16_RELATIVE = 16;

/** fp32 tolerances when the manifest gives none (the golden set's). */
export const FP32_TOLERANCES = {
  't5.*': 1e-4,
  'scheduler.*': 1e-6,
  'transformer.*': 1e-4,
  'transformer.debug.rope_*': 1e-5,
  'vae_decode.*': 1e-3,
  'vae_encode.*': 1e-3,
  'pipeline.step_*.noise_pred / latents_*': 1e-3,
  'pipeline.final_latents': 1e-3,
  'pipeline.video_float': 2e-3,
} as const;

export type TolerancePattern = keyof typeof FP32_TOLERANCES;

/** Computed in JavaScript whatever the precision: their fp32 bound holds in fp16 too. */
const PRECISION_FREE: ReadonlySet<TolerancePattern> = new Set([
  'scheduler.*',
  'transformer.debug.rope_*',
]);

/**
 * The tolerance of a tensor matching `pattern` for a run on `target`; `expected` (the reference
 * values) sets the fp16 bound's scale.
 */
export function tolerance(
  reference: Reference,
  target: ParityTarget,
  pattern: TolerancePattern,
  expected?: ArrayLike<number>,
): number {
  if (target.precision === 'fp32' || PRECISION_FREE.has(pattern)) {
    return reference.tolerance(pattern, FP32_TOLERANCES[pattern]);
  }
  const given = reference.manifest.tolerances_max_abs_fp16?.[pattern];
  if (typeof given === 'number') return given;
  return fp16Tolerance(expected);
}

/** FP16_RELATIVE · u · max|expected| (at least FP16_RELATIVE · u, for near-zero tensors). */
export function fp16Tolerance(expected: ArrayLike<number> | undefined): number {
  let largest = 1;
  if (expected !== undefined) {
    largest = 0;
    for (let i = 0; i < expected.length; i++) {
      largest = Math.max(largest, Math.abs(expected[i] ?? 0));
    }
  }
  return FP16_RELATIVE * FP16_UNIT_ROUNDOFF * Math.max(largest, 1);
}

/** What 8-bit frames must meet: every value within `maxLevels`, `minExactPixels` exact. */
export interface FrameCriterion {
  readonly maxLevels: number;
  readonly minExactPixels: number;
}

/** The manifest's "abs diff <= 1 (truncation boundary); expect >= 99% exact". */
export const FP32_FRAMES: FrameCriterion = { maxLevels: 1, minExactPixels: 0.99 };

/**
 * fp16 frames: the float video (magnitude 1) is measured within 1.9·u ≈ 0.001 (a quarter of a
 * level of 255; its bound 16·u is two levels), and ⌊255·x⌋ can add one at a truncation
 * boundary: 2 levels. A pixel
 * differs when one of its channels crosses a boundary, which happens to about 3·255·E|error|
 * of them; the golden set measures 94.7–96.1 % of pixels exact (E|error| ≈ 5e-5), so at least
 * 90 % must be.
 */
export const FP16_FRAMES: FrameCriterion = { maxLevels: 2, minExactPixels: 0.9 };

export function frameCriterion(target: ParityTarget): FrameCriterion {
  return target.precision === 'fp16' ? FP16_FRAMES : FP32_FRAMES;
}

/**
 * Streamed against one-pass decoding on the same device (the raw decoder output): the stream
 * computes the same operations in other calls, so only the rounding of differently blocked
 * kernels differs: 1e-5 in fp32 (the CPU measures 2e-6), the fp16 rule in fp16 (measured
 * 3.5·u·max|output|: float16 kernels blocked differently round differently).
 */
export function streamTolerance(target: ParityTarget, expected: ArrayLike<number>): number {
  return target.precision === 'fp16' ? fp16Tolerance(expected) : 1e-5;
}
