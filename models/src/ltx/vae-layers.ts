/**
 * Graph pieces both VAE graphs are made of: PixelNorm, SiLU, and the 3-D rearrangements between
 * depth and space (the decoder's upsamplers, the encoder's downsamplers).
 */
import { attr, type GraphBuilder } from '../onnx/graph-builder.ts';

/** The time axis of the VAE's [1, C, F, H, W] activations. */
export const FRAMES_AXIS = 2;
const PIXEL_NORM_EPS = 1e-8;

/** x / √(mean over channels of x² + 1e−8). */
export function pixelNorm(g: GraphBuilder, x: string): string {
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x]), g.ints([1])], {
    keepdims: attr.i(1),
  });
  return g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar(PIXEL_NORM_EPS)])])]);
}

export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** Frames `start` to `end` (numbers, or int64 [1] values of the graph) of `x`. */
export function sliceFrames(
  g: GraphBuilder,
  x: string,
  start: number | string,
  end: number | string,
): string {
  const bound = (value: number | string): string =>
    typeof value === 'number' ? g.ints([value]) : value;
  return g.op('Slice', [x, bound(start), bound(end), g.ints([FRAMES_AXIS])]);
}

/**
 * 3-D depth-to-space (DepthToSpace is 2-D only): [1, k·st·sh·sw, T, H, W] → [1, k, T·st, H·sh,
 * W·sw] with out[i, st·t + a, sh·y + b, sw·x + d] = in[((i·st + a)·sh + b)·sw + d, t, y, x].
 */
export function depthToSpace(
  g: GraphBuilder,
  x: string,
  channels: number,
  stride: readonly [number, number, number],
): string {
  const grid = g.op('Shape', [x], { start: attr.i(FRAMES_AXIS) });
  const split = g.op('Reshape', [
    x,
    g.op('Concat', [g.ints([channels, ...stride]), grid], { axis: attr.i(0) }),
  ]);
  const interleaved = g.op('Transpose', [split], { perm: attr.ints([0, 4, 1, 5, 2, 6, 3]) });
  const shape = g.op('Concat', [g.ints([1, channels]), g.op('Mul', [grid, g.ints([...stride])])], {
    axis: attr.i(0),
  });
  return g.op('Reshape', [interleaved, shape]);
}

/**
 * einops "b c (d p1) (h p2) (w p3) -> b (c p1 p2 p3) d h w" for batch 1: channel
 * ((c·p1 + a)·p2 + b)·p3 + e holds x[c, d·p1 + a, h·p2 + b, w·p3 + e].
 */
export function spaceToDepth(
  g: GraphBuilder,
  x: string,
  channels: number,
  stride: readonly [number, number, number],
): string {
  const grid = g.op('Div', [g.op('Shape', [x], { start: attr.i(2) }), g.ints([...stride])]);
  const dim = (axis: number): string => g.op('Slice', [grid, g.ints([axis]), g.ints([axis + 1])]);
  const split = g.op('Reshape', [
    x,
    g.op(
      'Concat',
      [
        g.ints([channels]),
        dim(0),
        g.ints([stride[0]]),
        dim(1),
        g.ints([stride[1]]),
        dim(2),
        g.ints([stride[2]]),
      ],
      { axis: attr.i(0) },
    ),
  ]);
  // [c, D, p1, H, p2, W, p3] → [c, p1, p2, p3, D, H, W]
  const ordered = g.op('Transpose', [split], { perm: attr.ints([0, 2, 4, 6, 1, 3, 5]) });
  const volume = stride[0] * stride[1] * stride[2];
  return g.op('Reshape', [
    ordered,
    g.op('Concat', [g.ints([1, channels * volume]), grid], { axis: attr.i(0) }),
  ]);
}
