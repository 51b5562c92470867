import { GraphBuilder } from '@zeus/models';
import { describe, expect, it } from 'vitest';
import {
  ModelSession,
  providerCandidates,
  SessionError,
  tensor,
  tensorFloat32,
} from '../src/onnx/runtime.ts';

async function reluModel(): Promise<Uint8Array> {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['n']);
  g.output(g.op('Relu', [x]), 'y', 'float32', ['n']);
  return g.toBytes();
}

describe('execution providers', () => {
  it('prefers cuda, then webgpu, then cpu, skipping cuda when its library is absent', () => {
    expect(providerCandidates('auto', () => true)).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(providerCandidates('auto', () => false)).toEqual(['webgpu', 'cpu']);
    expect(providerCandidates('cpu', () => true)).toEqual(['cpu']);
  });
});

describe('ModelSession', () => {
  it('runs a model on the cpu provider and checks its inputs', async () => {
    const session = await ModelSession.load(await reluModel(), { device: 'cpu', name: 'relu' });
    expect(session.provider).toBe('cpu');
    expect(session.inputNames).toEqual(['x']);
    const out = await session.run({ x: tensor('float32', Float32Array.from([-1, 2]), [2]) });
    expect(Array.from(tensorFloat32(out['y']!))).toEqual([0, 2]);
    await expect(session.run({})).rejects.toThrow(/missing x/);
    await expect(
      session.run({
        x: tensor('float32', new Float32Array(1), [1]),
        z: tensor('int64', new BigInt64Array(1), [1]),
      }),
    ).rejects.toThrow(/unknown z/);
    await session.release();
    await expect(session.run({ x: tensor('float32', new Float32Array(1), [1]) })).rejects.toThrow(
      SessionError,
    );
  });

  it('falls back to the cpu provider on a machine without a GPU', async () => {
    const session = await ModelSession.load(await reluModel(), { device: 'auto', name: 'relu' });
    expect(['cuda', 'webgpu', 'cpu']).toContain(session.provider);
    await session.release();
  });

  it('says which model failed to load and why', async () => {
    await expect(
      ModelSession.load(new Uint8Array([1, 2, 3]), { device: 'cpu', name: 'broken' }),
    ).rejects.toThrow(/Could not load the broken model on device "cpu": cpu: /);
  });
});
