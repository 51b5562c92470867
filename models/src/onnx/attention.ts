/**
 * Multi-head attention, softmax(q·kᵀ·scale + bias)·v per head, written one of two ways:
 *
 * - `fused`: ONNX Runtime's com.microsoft MultiHeadAttention, one kernel (flash attention on
 *   the CUDA provider, on WebGPU where the adapter has subgroups), the fast form;
 * - `matmul`: Reshape, Transpose, MatMul, Softmax, MatMul: plain ONNX operators whose kernels
 *   every provider has, at the cost of the whole [heads, queries, keys] score tensor.
 *
 * Both take q [B, Lq, H·D], k and v [B, Lk, H·D] and an optional additive bias broadcastable
 * to [B, H, Lq, Lk], and give [B, Lq, H·D]. The `matmul` form exists because ONNX Runtime
 * 1.30's WebGPU MultiHeadAttention gives wrong results on SwiftShader's Vulkan driver (the
 * CI's WebGPU) for head sizes that are a multiple of 4 from 32 keys on (errors of 0.02–0.4 on
 * unit-scale inputs), while the MatMul/Softmax/MatMul form agrees with the CPU to 1e-7; the
 * runtime probes the fused kernel and builds `matmul` graphs only where it is inexact
 * (inference/src/onnx/runtime.ts, `fusedAttentionExact`).
 */
import { ONNX_DATA_TYPE } from './proto.ts';
import { attr, type GraphBuilder } from './graph-builder.ts';

export type AttentionKernel = 'fused' | 'matmul';
export const ATTENTION_KERNELS: readonly AttentionKernel[] = ['fused', 'matmul'];

export interface AttentionOptions {
  readonly heads: number;
  /** Width of one head (D). */
  readonly headSize: number;
  /** Multiplies q·kᵀ; default 1/√D. */
  readonly scale?: number;
  /** Additive bias, broadcastable to [B, H, Lq, Lk], in q's type; '' or absent for none. */
  readonly bias?: string;
  /** Element type of q, k and v (the `matmul` form does the softmax in float32 either way). */
  readonly dtype: 'float32' | 'float16';
  readonly kernel: AttentionKernel;
}

export function attention(
  g: GraphBuilder,
  query: string,
  key: string,
  value: string,
  options: AttentionOptions,
): string {
  const { heads, headSize, dtype } = options;
  const bias = options.bias ?? '';
  if (options.kernel === 'fused') {
    const inputs = bias === '' ? [query, key, value] : [query, key, value, '', '', bias];
    return g.op(
      'MultiHeadAttention',
      inputs,
      {
        num_heads: attr.i(heads),
        ...(options.scale === undefined ? {} : { scale: attr.f(options.scale) }),
      },
      { domain: 'com.microsoft' },
    );
  }
  const scale = options.scale ?? 1 / Math.sqrt(headSize);
  const split = (x: string, perm: readonly number[]): string =>
    g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, heads, headSize])])], {
      perm: attr.ints([...perm]),
    });
  const q = split(query, [0, 2, 1, 3]); // [B, H, Lq, D]
  const kT = split(key, [0, 2, 3, 1]); // [B, H, D, Lk]
  const v = split(value, [0, 2, 1, 3]); // [B, H, Lk, D]
  const toFloat32 = (x: string): string =>
    dtype === 'float32' ? x : g.op('Cast', [x], { to: attr.i(ONNX_DATA_TYPE.float32) });
  let scores = g.op('Mul', [toFloat32(g.op('MatMul', [q, kT])), g.scalar(scale)]);
  if (bias !== '') scores = g.op('Add', [scores, toFloat32(bias)]);
  let probs = g.op('Softmax', [scores], { axis: attr.i(-1) });
  if (dtype === 'float16') probs = g.op('Cast', [probs], { to: attr.i(ONNX_DATA_TYPE.float16) });
  const attended = g.op('Transpose', [g.op('MatMul', [probs, v])], {
    perm: attr.ints([0, 2, 1, 3]),
  });
  return g.op('Reshape', [attended, g.ints([0, 0, heads * headSize])]);
}
