/**
 * Whether ONNX Runtime's fused attention kernel is exact on a provider: measured once per
 * provider and process against a float64 computation, it decides how the graphs write attention.
 */
import { attention, GraphBuilder, type AttentionKernel } from '@zeus/models';
import {
  ModelSession,
  tensor,
  tensorFloat32,
  type ExecutionProvider,
  type OrtTensor,
} from './runtime.ts';

/** Largest error of the fused attention probe a provider may show and still be used. */
export const FUSED_ATTENTION_TOLERANCE = 1e-4;

const attentionErrors = new Map<ExecutionProvider, Promise<number>>();

/**
 * The largest error of ONNX Runtime's fused MultiHeadAttention on `provider` against a float64
 * computation, on a case it got wrong on SwiftShader's WebGPU (32 keys, heads of 8, a bias):
 * above FUSED_ATTENTION_TOLERANCE the pipeline builds attention from MatMul and Softmax instead
 * (@zeus/models' onnx/attention.ts). Measured once per provider and process.
 */
export function fusedAttentionError(provider: ExecutionProvider): Promise<number> {
  let error = attentionErrors.get(provider);
  if (error === undefined) {
    error = measureFusedAttention(provider);
    attentionErrors.set(provider, error);
  }
  return error;
}

async function measureFusedAttention(provider: ExecutionProvider): Promise<number> {
  const [length, heads, size] = [32, 2, 8];
  const width = heads * size;
  const values = (count: number, seed: number): Float32Array =>
    Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);
  const q = values(length * width, 1);
  const k = values(length * width, 2);
  const v = values(length * width, 3);
  const bias = values(heads * length * length, 4);
  const g = new GraphBuilder({ name: 'attention_probe' });
  const io = (name: string): string => g.input(name, 'float32', [1, length, width]);
  const attended = attention(g, io('q'), io('k'), io('v'), {
    heads,
    headSize: size,
    bias: g.input('bias', 'float32', [1, heads, length, length]),
    dtype: 'float32',
    kernel: 'fused',
  });
  g.output(attended, 'y', 'float32', [1, length, width]);
  const session = await ModelSession.load(await g.toBytes(), {
    device: provider,
    name: 'attention probe',
  });
  try {
    const out = await session.run({
      q: tensor('float32', q, [1, length, width]),
      k: tensor('float32', k, [1, length, width]),
      v: tensor('float32', v, [1, length, width]),
      bias: tensor('float32', bias, [1, heads, length, length]),
    });
    const actual = tensorFloat32(out['y'] as OrtTensor);
    let largest = 0;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < length; i++) {
        const scores = Array.from({ length }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < size; d++) {
            dot += (q[i * width + h * size + d] ?? 0) * (k[j * width + h * size + d] ?? 0);
          }
          return dot / Math.sqrt(size) + (bias[(h * length + i) * length + j] ?? 0);
        });
        const top = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - top));
        const sum = weights.reduce((a, b) => a + b, 0);
        for (let d = 0; d < size; d++) {
          let expected = 0;
          for (let j = 0; j < length; j++) {
            expected += ((weights[j] ?? 0) / sum) * (v[j * width + h * size + d] ?? 0);
          }
          const diff = Math.abs((actual[i * width + h * size + d] ?? NaN) - expected);
          largest = Number.isNaN(diff) ? Infinity : Math.max(largest, diff);
        }
      }
    }
    return largest;
  } finally {
    await session.release();
  }
}

/**
 * How attention is written in the graphs for `provider`: ONNX Runtime's fused kernel unless it
 * fails the probe there, with the reason when it does.
 */
export async function attentionKernelFor(
  provider: ExecutionProvider,
): Promise<{ readonly kernel: AttentionKernel; readonly reason?: string }> {
  if (provider === 'cpu') return { kernel: 'fused' };
  const error = await fusedAttentionError(provider);
  if (error <= FUSED_ATTENTION_TOLERANCE) return { kernel: 'fused' };
  return {
    kernel: 'matmul',
    reason:
      `ONNX Runtime's fused MultiHeadAttention is off by ${error.toExponential(1)} on this ` +
      `${provider} device (a probe of 32 keys, heads of 8); attention is built from MatMul ` +
      'and Softmax instead (slower, exact)',
  };
}
