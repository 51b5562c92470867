/**
 * The VAE decoder's inputs and outputs (vae-decoder.ts): the latent video and its decode noise
 * checked, the causal state and the pending frames carried from one stream call to the next, the
 * frames read from a call's outputs and joined.
 */
import { VAE_IO, type StreamCall, type VaeDtype } from '@zeus/models';
import { tensor, type OrtTensor } from '../onnx/runtime.ts';
import type { VaeTiling } from './vae-tiles.ts';

/** A latent video [1, channels, frames, height, width], as the sampler leaves it. */
export interface LatentVideo {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export interface DecodeOptions {
  /** Decode timestep (default 0.05). */
  readonly timestep?: number;
  /** s in z·(1 − s) + ε·s (default 0.025). */
  readonly noiseScale?: number;
  /**
   * Stream in calls of about this many video frames (the first at least this many, the last
   * more: it also flushes the decoder's delay of about five latent frames). Leave it out to
   * decode in one pass. Short videos decode in one pass regardless.
   */
  readonly chunkFrames?: number;
  /**
   * Decode frames larger than a tile as overlapping spatial tiles, blended (vae-tiles.ts): the
   * activations are a tile's instead of the frame's. Left out: whole frames. Frames only: the
   * float outputs of parity models are not given when tiles are used.
   */
  readonly tiling?: VaeTiling;
}

export interface FrameBatch {
  /** `count` frames of `height × width × 3` bytes (RGB24), frame after frame. */
  readonly frames: Uint8Array;
  readonly count: number;
  /** Index of the first frame in the video. */
  readonly start: number;
  readonly height: number;
  readonly width: number;
  /** Raw decoder output [1, 3, count, height, width] (models built with float outputs). */
  readonly decoded?: Float32Array;
  /** clamp(decoded/2 + 1/2, 0, 1), same shape (models built with float outputs). */
  readonly video?: Float32Array;
}

export class VaeDecodeError extends Error {
  override readonly name = 'VaeDecodeError';
}

export type Dims5 = [number, number, number, number, number];

export function checkLatents(latents: LatentVideo, noise: LatentVideo): Dims5 {
  const dims = [...latents.shape];
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (dims.length !== 5 || dims[0] !== 1 || latents.data.length !== count) {
    throw new VaeDecodeError(
      `Latents must be [1, channels, frames, height, width] with matching data; got [${dims.join(', ')}] and ${latents.data.length} values`,
    );
  }
  if (
    noise.shape.length !== 5 ||
    noise.shape.some((dim, i) => dim !== dims[i]) ||
    noise.data.length !== count
  ) {
    throw new VaeDecodeError(
      `Decode noise [${noise.shape.join(', ')}] does not match the latents [${dims.join(', ')}]`,
    );
  }
  return dims as Dims5;
}

/** The `state_out.*` outputs of a call, by name. */
export function stateOf(outputs: Readonly<Record<string, OrtTensor>>): Map<string, OrtTensor> {
  return new Map(Object.entries(outputs).filter(([name]) => name.startsWith(VAE_IO.stateOut)));
}

export function frameBatch(
  outputs: Record<string, OrtTensor>,
  start: number,
  call: StreamCall,
): FrameBatch {
  const frames = outputs[VAE_IO.frames];
  if (frames === undefined) throw new VaeDecodeError('The VAE decoder gave no frames');
  const [count = 0, height = 0, width = 0] = frames.dims;
  if (count !== call.outputFrames) {
    throw new VaeDecodeError(
      `A decoder call gave ${count} frames; ${call.outputFrames} were planned`,
    );
  }
  const decoded = outputs[VAE_IO.decoded]?.data;
  const video = outputs[VAE_IO.video]?.data;
  return {
    frames: frames.data as Uint8Array,
    count,
    start,
    height,
    width,
    ...(decoded instanceof Float32Array ? { decoded } : {}),
    ...(video instanceof Float32Array ? { video } : {}),
  };
}

/** Frames [offset, offset + count) of a [1, C, T, H, W] tensor. */
export function sliceFrames(
  value: OrtTensor,
  offset: number,
  count: number,
  dtype: VaeDtype,
): OrtTensor {
  const [batch = 1, channels = 0, frames = 0, height = 0, width = 0] = value.dims;
  if (offset + count > frames) {
    throw new VaeDecodeError(`Frames ${offset}…${offset + count} asked of ${frames} pending`);
  }
  const plane = height * width;
  const source = value.data as Float32Array | Uint16Array;
  const out =
    dtype === 'float32'
      ? new Float32Array(batch * channels * count * plane)
      : new Uint16Array(batch * channels * count * plane);
  for (let c = 0; c < batch * channels; c++) {
    const from = (c * frames + offset) * plane;
    out.set(source.subarray(from, from + count * plane), c * count * plane);
  }
  const dims = [batch, channels, count, height, width];
  return out instanceof Float32Array ? tensor('float32', out, dims) : tensor('float16', out, dims);
}

/** Concatenates batches' [1, 3, n, H, W] float outputs along frames. */
export function joinFloat(
  batches: readonly FrameBatch[],
  key: 'decoded' | 'video',
  count: number,
): Float32Array | undefined {
  if (batches.some((batch) => batch[key] === undefined)) return undefined;
  const head = batches[0];
  if (head === undefined) return undefined;
  const plane = head.height * head.width;
  const channels = 3;
  const out = new Float32Array(channels * count * plane);
  for (const batch of batches) {
    const data = batch[key] as Float32Array;
    for (let c = 0; c < channels; c++) {
      out.set(
        data.subarray(c * batch.count * plane, (c + 1) * batch.count * plane),
        (c * count + batch.start) * plane,
      );
    }
  }
  return out;
}

export function int64(value: number): OrtTensor {
  return tensor('int64', BigInt64Array.of(BigInt(value)), [1]);
}
