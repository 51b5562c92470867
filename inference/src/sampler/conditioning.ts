/**
 * Image-to-video conditioning of the first latent frame, as the official pipeline computes it
 * for one conditioning image at frame 0 (`LTXVideoPipeline.prepare_conditioning`,
 * `add_noise_to_image_conditioning_latents`, `denoising_step` in
 * ltx_video/pipelines/pipeline_ltx_video.py), pure and in float32 operation by operation:
 *
 * 1. The image's latents replace the initial noise at the first latent frame's tokens:
 *    `lerp(noise, image, strength)` (exactly the image at strength 1, inference.py's default),
 *    and those tokens get conditioning mask = strength. Their coordinates stay the ordinary
 *    ones (frame 0 → time 0): only conditioning at a later frame appends extra tokens with
 *    shifted coordinates, which Zeus does not do.
 * 2. Before every step, hard-conditioned tokens (mask > 1 − 1e−6) are reset to the conditioned
 *    latents plus fresh noise: `init + image_cond_noise_scale·ε·t²` (0.15 in inference.py),
 *    ε drawn from the pipeline's generator.
 * 3. The transformer sees those tokens at timestep `min(t, 1 − mask)` (0 for hard conditioning)
 *    and every other token at t.
 * 4. After the scheduler's step, tokens with `t − 1e−6 < 1 − mask` take the stepped value; the
 *    others (hard-conditioned ones) keep the value they entered the step with.
 */
import type { LatentShape } from './latents.ts';

const f32 = Math.fround;
const MASK_EPS = 1e-6;

export class ConditioningError extends Error {
  override readonly name = 'ConditioningError';
}

/** What denoise() needs to condition the first latent frame. */
export interface FirstFrameConditioning {
  /** Conditioning strength of every token [N] (the same for every batch entry). */
  readonly mask: Float32Array;
  /** The conditioning latents in token layout [B, N, C]; only masked tokens are read. */
  readonly latents: Float32Array;
  /** C, the latent channels. */
  readonly channels: number;
  /** image_cond_noise_scale; 0 adds no noise (and draws none). */
  readonly noiseScale: number;
}

/** image_cond_noise_scale of ltx_video/inference.py (no yaml sets it). */
export const LTX_IMAGE_COND_NOISE_SCALE = 0.15;
/** conditioning_strengths' default in inference.py. */
export const LTX_CONDITIONING_STRENGTH = 1;

/** The conditioning mask [N]: `strength` on the first latent frame's H·W tokens, 0 elsewhere. */
export function firstFrameMask(shape: LatentShape, strength: number): Float32Array {
  if (!(strength > 0 && strength <= 1)) {
    throw new ConditioningError(`Conditioning strength must be in (0, 1], got ${strength}`);
  }
  const mask = new Float32Array(shape.frames * shape.height * shape.width);
  mask.fill(f32(strength), 0, shape.height * shape.width);
  return mask;
}

/**
 * The image's latents [B, C, 1, h, w] (as the encoder gives them) placed at the first frame's
 * tokens of a [B, N, C] token array (zeros elsewhere).
 */
export function firstFrameTokens(image: Float32Array, shape: LatentShape): Float32Array {
  const plane = shape.height * shape.width;
  const { batch, channels } = shape;
  if (image.length !== batch * channels * plane) {
    throw new ConditioningError(
      `First-frame latents have ${image.length} values, expected ${batch * channels * plane} ` +
        `([${batch}, ${channels}, 1, ${shape.height}, ${shape.width}])`,
    );
  }
  const tokens = shape.frames * plane;
  const out = new Float32Array(batch * tokens * channels);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      for (let n = 0; n < plane; n++) {
        out[(b * tokens + n) * channels + c] = image[(b * channels + c) * plane + n] ?? 0;
      }
    }
  }
  return out;
}

/** torch.lerp(start, end, weight) in float32 (its two formulas either side of 0.5). */
export function lerp(start: number, end: number, weight: number): number {
  const w = f32(weight);
  const difference = f32(end - start);
  return w < 0.5 ? f32(start + f32(w * difference)) : f32(end - f32(difference * f32(1 - w)));
}

/** Step 1: the initial latents with the conditioned tokens lerped towards the image. */
export function conditionInitialLatents(
  initial: Float32Array,
  conditioning: FirstFrameConditioning,
): Float32Array {
  const { mask, latents, channels } = conditioning;
  checkTokens(initial, mask, channels, latents);
  const out = initial.slice();
  forMasked(initial, mask, channels, (i, strength) => {
    out[i] = lerp(initial[i] ?? 0, latents[i] ?? 0, strength);
  });
  return out;
}

/** Step 2: hard-conditioned tokens reset to `init + noiseScale·ε·t²`; others unchanged. */
export function noiseConditionedTokens(
  init: Float32Array,
  latents: Float32Array,
  noise: Float32Array,
  mask: Float32Array,
  channels: number,
  noiseScale: number,
  timestep: number,
): Float32Array {
  checkTokens(latents, mask, channels, init);
  checkTokens(latents, mask, channels, noise);
  const scale = f32(noiseScale);
  const t = f32(timestep);
  const tSquared = f32(t * t);
  const out = latents.slice();
  forMasked(latents, mask, channels, (i, strength) => {
    if (strength > 1 - MASK_EPS) {
      out[i] = f32((init[i] ?? 0) + f32(f32(scale * (noise[i] ?? 0)) * tSquared));
    }
  });
  return out;
}

/** Step 3: the conditioned tokens' timestep, min(t, 1 − strength), in float32. */
export function conditionedTimestep(timestep: number, strength: number): number {
  return Math.min(f32(timestep), f32(1 - f32(strength)));
}

/**
 * Step 4: the scheduler's result for tokens being denoised (t − 1e−6 < 1 − mask), the latents
 * the step started from for the others.
 */
export function keepConditionedTokens(
  stepped: Float32Array,
  previous: Float32Array,
  mask: Float32Array,
  channels: number,
  timestep: number,
): Float32Array {
  checkTokens(stepped, mask, channels, previous);
  const t = f32(timestep);
  const out = stepped.slice();
  for (let row = 0; row < stepped.length / channels; row++) {
    if (t - MASK_EPS < 1 - (mask[row % mask.length] ?? 0)) continue;
    const base = row * channels;
    out.set(previous.subarray(base, base + channels), base);
  }
  return out;
}

/** The single strength of the conditioned tokens (Zeus conditions with one strength). */
export function conditioningStrength(mask: Float32Array): number {
  let strength = 0;
  for (const value of mask) {
    if (value === 0) continue;
    if (strength !== 0 && value !== strength) {
      throw new ConditioningError('Conditioned tokens must share one strength');
    }
    strength = value;
  }
  return strength;
}

/** Calls `visit` for every value of a masked token of `tokens` [B, N, C]. */
function forMasked(
  tokens: Float32Array,
  mask: Float32Array,
  channels: number,
  visit: (index: number, strength: number) => void,
): void {
  for (let row = 0; row < tokens.length / channels; row++) {
    const strength = mask[row % mask.length] ?? 0;
    if (strength === 0) continue;
    for (let c = 0; c < channels; c++) visit(row * channels + c, strength);
  }
}

function checkTokens(a: Float32Array, mask: Float32Array, channels: number, b: Float32Array): void {
  if (
    a.length !== b.length ||
    mask.length === 0 ||
    channels < 1 ||
    a.length % (mask.length * channels) !== 0
  ) {
    throw new ConditioningError(
      `Token arrays of ${a.length} and ${b.length} values do not fit ${mask.length} tokens of ` +
        `${channels} channels`,
    );
  }
}
