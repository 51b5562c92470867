/**
 * Live previews, the cheap way: a linear projection of the 128 latent channels to RGB (fitted
 * once per model, see preview-fit.ts) applied to the model's current estimate of the clean
 * latents, x̂₀ = x − t·v, at one latent frame. The latents the sampler holds between steps are
 * re-noised (x' = (1 − t')·x̂₀ + t'·ε), so showing them would show noise until the last steps;
 * x̂₀ is what the model currently believes the video is.
 *
 * One latent cell becomes one preview pixel (a 768×512 video gives 24×16); the worker scales it
 * up and encodes it. Pure: the cost is H·W·C·3 multiply-adds per step (147 k for 768×512).
 */
import type { LatentShape } from '../sampler/latents.ts';

export interface PreviewProjection {
  /** C, the latent channels. */
  readonly channels: number;
  /** [3, C] row-major: red, green, blue in [0, 1] = weights · x̂₀ + bias. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

/** A preview picture at latent resolution: RGB24, rows top to bottom. */
export interface LatentPreview {
  /** Denoising steps done (1 after the first). */
  readonly step: number;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** The latent frame previews show: the middle one (time runs over the others). */
export function previewFrame(shape: LatentShape): number {
  return Math.floor(shape.frames / 2);
}

/**
 * The preview of one step: `latents` [1, N, C] the step's input, `velocity` the model's output
 * for them at `timestep`.
 */
export function projectPreview(
  projection: PreviewProjection,
  shape: LatentShape,
  latents: Float32Array,
  velocity: Float32Array,
  timestep: number,
  step: number,
): LatentPreview {
  const { channels, weights, bias } = projection;
  if (channels !== shape.channels) {
    throw new RangeError(`The projection has ${channels} channels, the latents ${shape.channels}`);
  }
  const plane = shape.height * shape.width;
  const first = previewFrame(shape) * plane;
  const rgb = new Uint8Array(plane * 3);
  const estimate = new Float32Array(channels);
  for (let n = 0; n < plane; n++) {
    const base = (first + n) * channels;
    for (let c = 0; c < channels; c++) {
      estimate[c] = (latents[base + c] ?? 0) - timestep * (velocity[base + c] ?? 0);
    }
    for (let k = 0; k < 3; k++) {
      let sum = bias[k] ?? 0;
      const row = k * channels;
      for (let c = 0; c < channels; c++) sum += (weights[row + c] ?? 0) * (estimate[c] ?? 0);
      rgb[n * 3 + k] = Math.round(255 * Math.min(1, Math.max(0, sum)));
    }
  }
  return { step, width: shape.width, height: shape.height, rgb };
}

/** The preview's displayed size: the video's aspect, at most `longSide` pixels on its long side. */
export function previewSize(
  video: { readonly width: number; readonly height: number },
  longSide = 512,
): { width: number; height: number } {
  const scale = Math.min(1, longSide / Math.max(video.width, video.height));
  return {
    width: Math.max(1, Math.round(video.width * scale)),
    height: Math.max(1, Math.round(video.height * scale)),
  };
}
