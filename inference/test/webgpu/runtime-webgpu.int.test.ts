/**
 * What the runtime learns about a provider before loading the big models, on WebGPU
 * (SwiftShader) against the CPU: whether float16 runs, whether the fused attention kernel is
 * exact, and that both ways of writing attention give the same numbers where they are.
 */
import { attention, GraphBuilder, type AttentionKernel } from '@zeus/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { useSwiftShader } from '../../../tests/helpers/swiftshader.ts';
import {
  attentionKernelFor,
  FUSED_ATTENTION_TOLERANCE,
  fusedAttentionError,
} from '../../src/onnx/attention-probe.ts';
import { probeProvider } from '../../src/onnx/provider-choice.ts';
import { ModelSession, tensor, tensorFloat32, type OrtTensor } from '../../src/onnx/runtime.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';

beforeAll(() => {
  useSwiftShader();
});

describe('provider probes', () => {
  it('float16: the CPU runs it; SwiftShader, without the shader-f16 feature, does not, saying so', async () => {
    expect(await probeProvider('cpu', { float16: true })).toEqual({ ok: true });
    expect(await probeProvider('webgpu')).toEqual({ ok: true });
    const webgpu = await probeProvider('webgpu', { float16: true });
    expect(webgpu.ok).toBe(false);
    expect(webgpu.ok ? '' : webgpu.reason).toMatch(/requires f16 but the device does not support/);
  });

  it('fused attention: exact on the CPU, inexact on SwiftShader, so WebGPU graphs there use MatMul', async () => {
    expect(await fusedAttentionError('cpu')).toBeLessThan(1e-5);
    const webgpu = await fusedAttentionError('webgpu');
    expect(webgpu).toBeGreaterThan(FUSED_ATTENTION_TOLERANCE);
    expect(await attentionKernelFor('cpu')).toEqual({ kernel: 'fused' });
    const choice = await attentionKernelFor('webgpu');
    expect(choice.kernel).toBe('matmul');
    expect(choice.reason).toMatch(/fused MultiHeadAttention is off by .* on this webgpu device/);
  });
});

describe('attention written as MatMul and Softmax', () => {
  async function run(
    kernel: AttentionKernel,
    device: 'cpu' | 'webgpu',
    feeds: Record<string, OrtTensor>,
  ): Promise<Float32Array> {
    const g = new GraphBuilder({ name: 'attention' });
    const io = (name: string): string => g.input(name, 'float32', [2, 40, 24]);
    const bias = g.input('bias', 'float32', [1, 3, 40, 40]);
    g.output(
      attention(g, io('q'), io('k'), io('v'), {
        heads: 3,
        headSize: 8,
        scale: 0.5,
        bias,
        dtype: 'float32',
        kernel,
      }),
      'y',
      'float32',
    );
    const session = await ModelSession.load(await g.toBytes(), { device, name: kernel });
    try {
      return tensorFloat32((await session.run(feeds))['y'] as OrtTensor);
    } finally {
      await session.release();
    }
  }

  it('gives the fused kernel numbers on the CPU, and the same on WebGPU', async () => {
    const values = (count: number, seed: number): Float32Array =>
      Float32Array.from({ length: count }, (_, i) => Math.sin(seed + i * 0.731) * 1.5);
    const feeds = {
      q: tensor('float32', values(2 * 40 * 24, 1), [2, 40, 24]),
      k: tensor('float32', values(2 * 40 * 24, 2), [2, 40, 24]),
      v: tensor('float32', values(2 * 40 * 24, 3), [2, 40, 24]),
      bias: tensor('float32', values(3 * 40 * 40, 4), [1, 3, 40, 40]),
    };
    const fused = await run('fused', 'cpu', feeds);
    expect(maxAbsDiff(await run('matmul', 'cpu', feeds), fused)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await run('matmul', 'webgpu', feeds), fused)).toBeLessThan(1e-5);
  });
});
