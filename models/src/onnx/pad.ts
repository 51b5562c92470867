/**
 * Padding along one axis, written so that every ONNX Runtime provider reads it the same way.
 *
 * ONNX's Pad (opset 18+) can take an `axes` input and pads for those axes only. Zeus does not
 * use that form: ONNX Runtime's transpose optimizer (onnx_transpose_optimization.cc, HandlePad)
 * permutes the pads input as if it always held 2 × rank values and ignores `axes`. It moves a
 * Transpose through a Pad whenever a provider asks for channels-last convolutions, as the
 * WebGPU provider does for Conv: the Gather it inserts then reads indices up to 2 × rank − 1
 * from a 2-value pads tensor ("Gather_token_… indices element out of data bounds, idx=2 must be
 * within the inclusive range [-2,1]"). The CPU and CUDA providers keep Conv channels-first, so
 * the same graph ran there. Full pads (a start and an end for every axis) mean the same on all.
 */
import { attr, type GraphBuilder } from './graph-builder.ts';

export type PadMode = 'constant' | 'edge' | 'reflect';

/**
 * Pads `x` (of rank `rank`) along `axis` by `before` and `after` elements. Each count is a
 * number, or the name of a 1-element int64 value computed in the graph.
 */
export function padAxis(
  g: GraphBuilder,
  x: string,
  options: {
    readonly rank: number;
    readonly axis: number;
    readonly before: number | string;
    readonly after: number | string;
    readonly mode: PadMode;
  },
): string {
  const { rank, axis, before, after, mode } = options;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    throw new Error(`padAxis: axis ${axis} is outside a rank-${rank} tensor`);
  }
  const pads =
    typeof before === 'number' && typeof after === 'number'
      ? g.ints(fullPads(rank, axis, before, after))
      : g.op(
          'Concat',
          [
            zeros(g, axis),
            count(g, before),
            zeros(g, rank - 1),
            count(g, after),
            zeros(g, rank - axis - 1),
          ].filter((part) => part !== undefined),
          { axis: attr.i(0) },
        );
  return g.op('Pad', [x, pads], { mode: attr.s(mode) });
}

/** The 2 × rank pads ONNX's Pad reads: every start, then every end. */
export function fullPads(rank: number, axis: number, before: number, after: number): number[] {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[axis] = before;
  pads[rank + axis] = after;
  return pads;
}

/** `length` int64 zeros, or nothing (an empty Concat input is legal but needless). */
function zeros(g: GraphBuilder, length: number): string | undefined {
  return length === 0 ? undefined : g.ints(new Array<number>(length).fill(0));
}

function count(g: GraphBuilder, value: number | string): string {
  return typeof value === 'number' ? g.ints([value]) : value;
}
