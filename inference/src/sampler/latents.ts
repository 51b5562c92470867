/**
 * Latent geometry (docs/model/pipeline.md §3.2–§3.3): the latent grid of a video size, packing
 * latents [B, C, F, H, W] into transformer tokens [B, N, C] (patch size 1: token
 * n = (f·H + h)·W + w) and back, and the coordinates the transformer's rotary embedding is
 * computed from.
 */

export interface LatentShape {
  readonly batch: number;
  readonly channels: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

export interface VaeScaleFactors {
  /** Pixels per latent row/column (32 for the 0.9.6 VAE). */
  readonly spatial: number;
  /** Frames per latent frame (8 for the 0.9.6 VAE). */
  readonly temporal: number;
}

export const LTX_VAE_SCALE: VaeScaleFactors = { spatial: 32, temporal: 8 };

export class LatentGeometryError extends Error {
  override readonly name = 'LatentGeometryError';
}

/** The latent grid of a video whose size is already a multiple of the VAE's factors. */
export function latentShapeOf(
  video: { readonly width: number; readonly height: number; readonly frames: number },
  options: { channels?: number; batch?: number; scale?: VaeScaleFactors } = {},
): LatentShape {
  const { spatial, temporal } = options.scale ?? LTX_VAE_SCALE;
  if (video.width % spatial !== 0 || video.height % spatial !== 0) {
    throw new LatentGeometryError(
      `Video size ${video.width}x${video.height} is not a multiple of ${spatial}`,
    );
  }
  if ((video.frames - 1) % temporal !== 0 || video.frames < 1) {
    throw new LatentGeometryError(`${video.frames} frames is not ${temporal}k + 1`);
  }
  return {
    batch: options.batch ?? 1,
    channels: options.channels ?? 128,
    frames: (video.frames - 1) / temporal + 1,
    height: video.height / spatial,
    width: video.width / spatial,
  };
}

export function tokenCount(shape: LatentShape): number {
  return shape.frames * shape.height * shape.width;
}

/** [B, C, F, H, W] → [B, N, C]. */
export function packLatents(latents: Float32Array, shape: LatentShape): Float32Array {
  const tokens = tokenCount(shape);
  const { batch, channels } = shape;
  checkSize(latents, batch * channels * tokens);
  const out = new Float32Array(latents.length);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const from = (b * channels + c) * tokens;
      for (let n = 0; n < tokens; n++) {
        out[(b * tokens + n) * channels + c] = latents[from + n] ?? 0;
      }
    }
  }
  return out;
}

/** [B, N, C] → [B, C, F, H, W]. */
export function unpackLatents(tokens: Float32Array, shape: LatentShape): Float32Array {
  const count = tokenCount(shape);
  const { batch, channels } = shape;
  checkSize(tokens, batch * channels * count);
  const out = new Float32Array(tokens.length);
  for (let b = 0; b < batch; b++) {
    for (let n = 0; n < count; n++) {
      const from = (b * count + n) * channels;
      for (let c = 0; c < channels; c++) {
        out[(b * channels + c) * count + n] = tokens[from + c] ?? 0;
      }
    }
  }
  return out;
}

/** Integer latent (f, h, w) of every token, [B, 3, N] (the same for every batch entry). */
export function latentCoordinates(shape: LatentShape): BigInt64Array {
  const n = tokenCount(shape);
  const out = new BigInt64Array(shape.batch * 3 * n);
  for (let b = 0; b < shape.batch; b++) {
    let token = 0;
    for (let f = 0; f < shape.frames; f++) {
      for (let h = 0; h < shape.height; h++) {
        for (let w = 0; w < shape.width; w++) {
          out[(b * 3 + 0) * n + token] = BigInt(f);
          out[(b * 3 + 1) * n + token] = BigInt(h);
          out[(b * 3 + 2) * n + token] = BigInt(w);
          token++;
        }
      }
    }
  }
  return out;
}

/**
 * The transformer's `indices_grid` [B, 3, N] (float32): time in seconds, y and x in pixels.
 * Pixel coordinates are (8f, 32h, 32w); with causal temporal positioning the first latent
 * frame covers one pixel frame, so time becomes max(8f − 7, 0), then it is multiplied (not
 * divided) by the float32 reciprocal of the frame rate, as the reference does.
 */
export function fractionalCoordinates(
  shape: LatentShape,
  frameRate: number,
  options: { scale?: VaeScaleFactors; causalTemporalPositioning?: boolean } = {},
): Float32Array {
  if (!(frameRate > 0)) throw new LatentGeometryError(`Frame rate ${frameRate} is not positive`);
  const { spatial, temporal } = options.scale ?? LTX_VAE_SCALE;
  const causal = options.causalTemporalPositioning ?? true;
  const reciprocal = Math.fround(1 / frameRate);
  const n = tokenCount(shape);
  const out = new Float32Array(shape.batch * 3 * n);
  for (let b = 0; b < shape.batch; b++) {
    let token = 0;
    for (let f = 0; f < shape.frames; f++) {
      const pixelFrame = causal ? Math.max(temporal * f + 1 - temporal, 0) : temporal * f;
      const seconds = Math.fround(pixelFrame * reciprocal);
      for (let h = 0; h < shape.height; h++) {
        for (let w = 0; w < shape.width; w++) {
          out[(b * 3 + 0) * n + token] = seconds;
          out[(b * 3 + 1) * n + token] = spatial * h;
          out[(b * 3 + 2) * n + token] = spatial * w;
          token++;
        }
      }
    }
  }
  return out;
}

function checkSize(values: Float32Array, expected: number): void {
  if (values.length !== expected) {
    throw new LatentGeometryError(`Expected ${expected} latent values, got ${values.length}`);
  }
}
