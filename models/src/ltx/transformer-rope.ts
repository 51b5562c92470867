/**
 * The transformer graph's rotary embedding (transformer-graph.ts): the per-token cos/sin caches
 * assembled in the graph from the compact tables the host computes (transformer-inputs.ts), and
 * the rotation of q and k over the full width with ONNX Runtime's RotaryEmbedding.
 */
import { attr, type GraphBuilder } from '../onnx/graph-builder.ts';
import type { LtxTransformerConfig } from './checkpoint-config.ts';

/** The per-token caches, [N·chunks, D/2/chunks] each (see `ropeChunks`). */
export interface RopeCaches {
  readonly cos: string;
  readonly sin: string;
}

/** How many rows each token's width is rotated as (a divisor of D/2, each row ≤ 1024 wide). */
function ropeChunks(config: LtxTransformerConfig): number {
  const d = config.innerDim;
  const pairs = d / 2;
  let chunks = config.attentionHeadDim % 2 === 0 ? config.numAttentionHeads : 1;
  while (d / chunks > 1024 || pairs % chunks !== 0) chunks++;
  return chunks;
}

/**
 * Rotary embedding of `x` over the full width (one "head" of width D), float32 in and out.
 */
export function rotate(
  g: GraphBuilder,
  config: LtxTransformerConfig,
  x: string,
  rope: RopeCaches,
): string {
  const d = config.innerDim;
  // Each token's width is cut into `ropeChunks` consecutive rows of a longer sequence (whose
  // caches are cut the same way): ONNX Runtime's CUDA kernel takes at most 1024 values per
  // rotated row, and the pairs never straddle a cut.
  const rows = g.op('Reshape', [x, g.ints([0, -1, d / ropeChunks(config)])]);
  const rotated = g.op(
    'RotaryEmbedding',
    [rows, g.ints([0]), rope.cos, rope.sin],
    { interleaved: attr.i(1), num_heads: attr.i(1) },
    { domain: 'com.microsoft' },
  );
  return g.op('Reshape', [rotated, g.ints([0, -1, d])]);
}

/**
 * Assembles the per-token cos/sin caches [N, D/2] (one value per rotated pair) from the
 * compact tables: gather each token's three rows, interleave frequency-major/axis-minor,
 * then pad the (D mod 6)/2 leading pairs with cos 1, sin 0. With `debug`, also hands it each
 * cache in the reference's [1, N, D] layout ('rope_cos', 'rope_sin').
 */
export function ropeCaches(
  g: GraphBuilder,
  config: LtxTransformerConfig,
  table: string,
  index: string,
  frequencies: number,
  debug: ((name: string, value: string) => void) | undefined,
): RopeCaches {
  const d = config.innerDim;
  const gathered = g.op('Gather', [table, index], { axis: attr.i(0) }); // [N, 3, 2, n_f]
  const ordered = g.op('Transpose', [gathered], { perm: attr.ints([2, 0, 3, 1]) }); // [2, N, n_f, 3]
  const flat = g.op('Reshape', [ordered, g.ints([2, -1, 3 * frequencies])]);
  const [cosRows, sinRows] = g.opMulti('Split', [flat, g.ints([1, 1])], 2, { axis: attr.i(0) });
  const padPairs = (d % 6) / 2;
  const finish = (rows: string, padValue: number, name: string): string => {
    let cache = g.op('Squeeze', [rows, g.ints([0])]);
    if (padPairs > 0) {
      cache = g.op('Pad', [cache, g.ints([0, padPairs, 0, 0]), g.scalar(padValue)]);
    }
    if (debug !== undefined) {
      // The reference's [B, N, D] layout: every pair's value twice.
      const doubled = g.op('Expand', [g.op('Unsqueeze', [cache, g.ints([-1])]), g.ints([1, 1, 2])]);
      debug(name, g.op('Reshape', [doubled, g.ints([1, -1, d])]));
    }
    return cache;
  };
  const chunked = (cache: string): string =>
    g.op('Reshape', [cache, g.ints([-1, d / 2 / ropeChunks(config)])]);
  return {
    cos: chunked(finish(cosRows as string, 1, 'rope_cos')),
    sin: chunked(finish(sinRows as string, 0, 'rope_sin')),
  };
}
