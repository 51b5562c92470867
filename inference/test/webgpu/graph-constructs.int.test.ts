/**
 * Graph constructs that ONNX Runtime's WebGPU provider treats differently from its CPU one, run
 * on both (WebGPU on SwiftShader) with the same inputs: what the converted graphs rely on.
 */
import { attr, GraphBuilder, padAxis } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSwiftShader } from '../../../tests/helpers/swiftshader.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';
import { ModelSession, tensor, tensorFloat32, type OrtTensor } from '../../src/onnx/runtime.ts';

beforeAll(() => {
  useSwiftShader();
});

const sessions: ModelSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((session) => session.release()));
});

async function onBoth(
  model: Uint8Array,
  feeds: Record<string, OrtTensor>,
): Promise<{ cpu: Float32Array; webgpu: Float32Array }> {
  const out: Record<string, Float32Array> = {};
  for (const device of ['cpu', 'webgpu'] as const) {
    const session = await ModelSession.load(model, { device, name: `pad test (${device})` });
    sessions.push(session);
    expect(session.provider).toBe(device);
    const result = await session.run(feeds);
    out[device] = tensorFloat32(result['y'] as OrtTensor);
  }
  return { cpu: out['cpu'] ?? new Float32Array(), webgpu: out['webgpu'] ?? new Float32Array() };
}

function ramp(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37));
}

describe('padding along one axis before a convolution (the VAE causal convolutions)', () => {
  // WebGPU asks for channels-last convolutions, so ONNX Runtime moves a Transpose through the
  // Pad in front of each Conv; with Pad's `axes` input it then indexed a 2-value pads tensor as
  // if it held 2 × rank values (padAxis writes full pads; see models/src/onnx/pad.ts).
  it('gives the CPU numbers with constant and computed pad counts', async () => {
    const g = new GraphBuilder({ name: 'pad_conv' });
    const x = g.input('x', 'float32', [1, 2, 'frames', 4, 4]);
    const last = g.input('last', 'int64', [1]);
    // Two causal convolutions in a row: the Transpose after the first is what gets moved.
    let y = x;
    for (const [index, after] of [2, last].entries()) {
      const padded = padAxis(g, y, { rank: 5, axis: 2, before: 2, after, mode: 'edge' });
      const weight = g.constant(
        'float32',
        [2, 2, 3, 3, 3],
        ramp(2 * 2 * 27).map((v) => v / (index + 2)),
      );
      y = g.op('Conv', [padded, weight], {
        kernel_shape: attr.ints([3, 3, 3]),
        pads: attr.ints([0, 1, 1, 0, 1, 1]),
      });
    }
    g.output(y, 'y', 'float32');
    const model = await g.toBytes();
    for (const after of [0, 1]) {
      const feeds = {
        x: tensor('float32', ramp(2 * 5 * 16), [1, 2, 5, 4, 4]),
        last: tensor('int64', BigInt64Array.of(BigInt(after)), [1]),
      };
      const { cpu, webgpu } = await onBoth(model, feeds);
      // 5 frames, + 2 behind then + `after` behind (+ 2 in front, less 2 for the kernel, twice).
      expect(cpu).toHaveLength(2 * (5 + 2 + after) * 16);
      expect(maxAbsDiff(webgpu, cpu)).toBeLessThan(1e-5);
    }
  });
});
