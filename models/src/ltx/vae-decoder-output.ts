/**
 * The decoder's post-processing, inside its graphs: the 4×4 unpatchify and the conversion to
 * 8-bit RGB frames, uint8 [frames, height, width, 3] (RGB24, what ffmpeg's rawvideo rgb24 reads),
 * ⌊255·clamp(y/2 + 1/2, 0, 1)⌋ like inference.py (truncation, not rounding).
 */
import { attr, type GraphBuilder } from '../onnx/graph-builder.ts';
import { ONNX_DATA_TYPE } from '../onnx/proto.ts';
import type { VaeConfig } from './vae-config.ts';
import { VAE_IO } from './vae-decoder-io.ts';
import { FRAMES_AXIS } from './vae-layers.ts';

/**
 * Outputs `frames` from the decoder's float32 output `y` (patched, [1, c·p², F, H, W]), and with
 * `floatOutputs` the unpatchified float video before (`decoded`) and after clamping (`video`).
 */
export function decoderOutputs(
  g: GraphBuilder,
  y: string,
  config: VaeConfig,
  floatOutputs: boolean,
): void {
  const video = g.op('Clip', [
    g.op('Add', [g.op('Mul', [y, g.scalar(0.5)]), g.scalar(0.5)]),
    g.scalar(0),
    g.scalar(1),
  ]);
  const bytes = g.op('Cast', [g.op('Floor', [g.op('Mul', [video, g.scalar(255)])])], {
    to: attr.i(ONNX_DATA_TYPE.uint8),
  });
  const p = config.patchSize;
  const c = config.outChannels;
  // Channel 16c + 4r + q holds pixel (4y + q, 4x + r): width offset r is the slower index.
  const grid = g.op('Shape', [y], { start: attr.i(FRAMES_AXIS) });
  const split = (value: string, lead: readonly number[]): string =>
    g.op('Reshape', [
      value,
      g.op('Concat', [g.ints([...lead, c, p, p]), grid], { axis: attr.i(0) }),
    ]);
  const scaled = g.op('Mul', [g.op('Slice', [grid, g.ints([1]), g.ints([3])]), g.ints([p, p])]);
  const frames = g.op('Reshape', [
    g.op('Transpose', [split(bytes, [])], { perm: attr.ints([3, 4, 2, 5, 1, 0]) }),
    g.op('Concat', [g.op('Slice', [grid, g.ints([0]), g.ints([1])]), scaled, g.ints([c])], {
      axis: attr.i(0),
    }),
  ]);
  g.output(frames, VAE_IO.frames, 'uint8', ['out_frames', 'out_height', 'out_width', c]);
  if (floatOutputs) {
    const videoShape = g.op(
      'Concat',
      [g.ints([1, c]), g.op('Slice', [grid, g.ints([0]), g.ints([1])]), scaled],
      { axis: attr.i(0) },
    );
    const unpatchify = (value: string): string =>
      g.op('Reshape', [
        g.op('Transpose', [split(value, [1])], { perm: attr.ints([0, 1, 4, 5, 3, 6, 2]) }),
        videoShape,
      ]);
    const dims = [1, c, 'out_frames', 'out_height', 'out_width'];
    g.output(unpatchify(y), VAE_IO.decoded, 'float32', dims);
    g.output(unpatchify(video), VAE_IO.video, 'float32', dims);
  }
}
