/**
 * Frame bookkeeping for decoding the VAE in temporal chunks with exactly the result of one pass.
 *
 * Why not overlapping latent chunks: every decoder convolution sees one frame either side, and
 * there are ~45 of them across four temporal resolutions, so one output frame depends on
 * ±21 latent frames (12 convs at latent rate + 11 at 2×, 4× and 8×, i.e. 12 + 11/2 + 11/4 + 11/8
 * ≈ 21.6). A 121-frame video has 16 latent frames: an exact overlap would be the whole video.
 *
 * So the decoder is split in two. The head (latent rate and the first upsampled rate, where
 * tensors are small and weights large) runs over the whole video once. The tail (the last
 * upsamplers and the full-resolution stages, where tensors are large) runs as a stream: each
 * call takes the next frames of the head's output, and each temporal convolution carries the
 * last two frames it saw (and each residual block the two inputs whose output is still owed)
 * to the next call, as graph inputs and outputs. The replicate padding of the one-pass decoder
 * is applied at the true ends only: on the left in the first call, on the right in the last.
 * Every convolution therefore sees exactly the windows of the one-pass decode.
 *
 * Each convolution owes one frame until the next call (its right neighbour is missing), so
 * the first call's output is short and the last call flushes the whole delay.
 */
import type { VaeConfig } from './vae-config.ts';

/** A temporal operation of the streamed tail, for counting frames. */
export type TailOp =
  /** A 3-tap temporal convolution (conv_out, or one of a residual block's two). */
  | { readonly kind: 'conv' }
  /** Convolution then depth-to-space in time by `stride` (1 or 2; 2 drops the first frame). */
  | { readonly kind: 'upsample'; readonly stride: number };

export interface VaeStreamLayout {
  /** Temporal strides of the head's upsamplers: latent frames → tail input frames. */
  readonly headTimeStrides: readonly number[];
  /** The tail's temporal operations in order. */
  readonly tailOps: readonly TailOp[];
}

export interface StreamCall {
  /** Tail input frames this call consumes (the first call: from the head's output start). */
  readonly tailFrames: number;
  /** Video frames it produces. */
  readonly outputFrames: number;
  readonly last: boolean;
}

/**
 * Index (in execution order) of the first decoder block of the streamed tail: the last two
 * upsamplers and everything after them, where activations are large and weights small.
 */
export function tailStartBlock(config: VaeConfig): number {
  const executionOrder = [...config.decoderBlocks].reverse();
  const upsamplers = executionOrder.flatMap((block, index) =>
    block.kind === 'upsample' ? [index] : [],
  );
  return upsamplers.at(-2) ?? upsamplers.at(-1) ?? 0;
}

/** The frame bookkeeping of the decoder built from `config`. */
export function vaeStreamLayout(config: VaeConfig): VaeStreamLayout {
  const executionOrder = [...config.decoderBlocks].reverse();
  const start = tailStartBlock(config);
  const tailOps: TailOp[] = [];
  for (const block of executionOrder.slice(start)) {
    if (block.kind === 'res_x') {
      for (let i = 0; i < 2 * block.numLayers; i++) tailOps.push({ kind: 'conv' });
    } else {
      tailOps.push({ kind: 'upsample', stride: block.stride[0] });
    }
  }
  tailOps.push({ kind: 'conv' }); // conv_out
  return {
    headTimeStrides: executionOrder
      .slice(0, start)
      .flatMap((block) => (block.kind === 'upsample' ? [block.stride[0]] : [])),
    tailOps,
  };
}

export class VaeStreamError extends Error {
  override readonly name = 'VaeStreamError';
}

/** Video frames decoded from `latentFrames` latent frames. */
export function videoFrames(layout: VaeStreamLayout, latentFrames: number): number {
  const tail = tailInputFrames(layout, latentFrames);
  const out = tailOutputFrames(layout, tail, 'first', true);
  if (out === undefined) throw new VaeStreamError(`Cannot decode ${latentFrames} latent frames`);
  return out;
}

/** Frames entering the tail for `latentFrames` latent frames (each ×2 upsampler: n → 2n − 1). */
export function tailInputFrames(layout: VaeStreamLayout, latentFrames: number): number {
  if (!Number.isInteger(latentFrames) || latentFrames < 1) {
    throw new VaeStreamError(`Latent frame count must be a positive integer, got ${latentFrames}`);
  }
  return layout.headTimeStrides.reduce((n, stride) => (stride === 2 ? 2 * n - 1 : n), latentFrames);
}

/**
 * Output frames of one tail call given `frames` input frames, or undefined when some
 * convolution would see fewer than three frames (too few for a first call).
 */
export function tailOutputFrames(
  layout: VaeStreamLayout,
  frames: number,
  call: 'first' | 'next',
  last: boolean,
): number | undefined {
  let n = frames;
  const right = last ? 1 : 0;
  for (const op of layout.tailOps) {
    // First call: one replicated frame on the left; later calls: two carried frames.
    const padded = call === 'first' ? n + 1 + right : 2 + n + right;
    if (n < 1 || padded < 3) return undefined;
    n = padded - 2;
    if (op.kind === 'upsample' && op.stride === 2) n = call === 'first' ? 2 * n - 1 : 2 * n;
  }
  return n;
}

/**
 * Splits a decode into calls producing about `chunkFrames` video frames each (the first call
 * at least that many, the last one more: it flushes the delay). One call when `chunkFrames`
 * is undefined or the video is too short to split.
 */
export function planStream(
  layout: VaeStreamLayout,
  latentFrames: number,
  chunkFrames?: number,
): StreamCall[] {
  const total = tailInputFrames(layout, latentFrames);
  const single = [
    { tailFrames: total, outputFrames: videoFrames(layout, latentFrames), last: true },
  ];
  if (chunkFrames === undefined) return single;
  if (!Number.isInteger(chunkFrames) || chunkFrames < 1) {
    throw new VaeStreamError(`chunkFrames must be a positive integer, got ${chunkFrames}`);
  }
  let first = 1;
  while (first < total) {
    const out = tailOutputFrames(layout, first, 'first', false);
    if (out !== undefined && out >= chunkFrames) break;
    first++;
  }
  if (first >= total) return single;
  const perFrame = tailOutputFrames(layout, 1, 'next', false) ?? 1;
  const step = Math.max(1, Math.ceil(chunkFrames / perFrame));
  const calls: StreamCall[] = [
    {
      tailFrames: first,
      outputFrames: tailOutputFrames(layout, first, 'first', false) ?? 0,
      last: false,
    },
  ];
  let remaining = total - first;
  while (remaining > 0) {
    const frames = Math.min(step, remaining);
    remaining -= frames;
    const last = remaining === 0;
    calls.push({
      tailFrames: frames,
      outputFrames: tailOutputFrames(layout, frames, 'next', last) ?? 0,
      last,
    });
  }
  return calls;
}
