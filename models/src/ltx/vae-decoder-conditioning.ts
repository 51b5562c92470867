/**
 * The decoder's timestep conditioning: embeddings of the decode timestep (from its sinusoid,
 * which the host computes: vae-decoder-io.ts) and the per-channel scale and shift rows they add
 * to, all in float32.
 */
import { attr, type GraphBuilder } from '../onnx/graph-builder.ts';
import { silu } from './vae-layers.ts';

/** Width of the decode timestep's sinusoid. */
export const SINUSOID_CHANNELS = 256;

/** Declares the float32 weight `key` of `shape` and returns its name in the graph. */
export type Float32Weight = (key: string, shape: readonly number[]) => string;

/** TE(τ) = linear_2(SiLU(linear_1(sinusoid(τ)))), float32 [1, dim]. */
export function timeEmbedding(
  g: GraphBuilder,
  weight: Float32Weight,
  sinusoid: string,
  key: string,
  dim: number,
): string {
  const prefix = `${key}.timestep_embedder`;
  const linear = (input: string, name: string, inDim: number): string =>
    g.op(
      'Gemm',
      [
        input,
        weight(`${prefix}.${name}.weight`, [dim, inDim]),
        weight(`${prefix}.${name}.bias`, [dim]),
      ],
      { transB: attr.i(1) },
    );
  return linear(silu(g, linear(sinusoid, 'linear_1', SINUSOID_CHANNELS)), 'linear_2', dim);
}

/** `table` [rows, width] + `temb` viewed as [rows, width] (float32). */
export function adaValues(
  g: GraphBuilder,
  weight: Float32Weight,
  tableKey: string,
  temb: string,
  rows: number,
  width: number,
): string {
  const table = weight(tableKey, [rows, width]);
  return g.op('Add', [table, g.op('Reshape', [temb, g.ints([rows, width])])]);
}

/** Row `row` of adaValues as a per-channel [1, width, 1, 1, 1] vector. */
export function adaRow(g: GraphBuilder, values: string, row: number, width: number): string {
  const picked = g.op('Gather', [values, g.ints([row])], { axis: attr.i(0) });
  return g.op('Reshape', [picked, g.ints([1, width, 1, 1, 1])]);
}
