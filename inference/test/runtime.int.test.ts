import { GraphBuilder } from '@zeus/models';
import { describe, expect, it } from 'vitest';
import { chooseProvider } from '../src/onnx/provider-choice.ts';
import {
  ModelSession,
  ONNX_RUNTIME,
  providerCandidates,
  type ProviderEnvironment,
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

  /**
   * A machine with the CUDA library installed on which the `failing` providers cannot load a
   * model; the others load it (on ONNX Runtime's cpu provider, so the test runs anywhere).
   */
  function machineWhere(failing: readonly string[]): ProviderEnvironment & { tried: string[] } {
    const tried: string[] = [];
    return {
      tried,
      hasCuda: () => true,
      createSession: (model, options) => {
        const first = options.executionProviders?.[0];
        const provider = typeof first === 'string' ? first : String(first?.name);
        tried.push(provider);
        return failing.includes(provider)
          ? Promise.reject(new Error(`no ${provider} device\nsecond line`))
          : ONNX_RUNTIME.createSession(model, { ...options, executionProviders: ['cpu'] });
      },
    };
  }

  it('auto falls back from cuda to webgpu to the cpu provider, in that order', async () => {
    const noGpu = machineWhere(['cuda', 'webgpu']);
    const session = await ModelSession.load(
      await reluModel(),
      { device: 'auto', name: 'relu' },
      noGpu,
    );
    expect(session.provider).toBe('cpu');
    expect(noGpu.tried).toEqual(['cuda', 'webgpu', 'cpu']);
    const out = await session.run({ x: tensor('float32', Float32Array.from([-3, 4]), [2]) });
    expect(Array.from(tensorFloat32(out['y']!))).toEqual([0, 4]);
    await session.release();

    const noCuda = machineWhere(['cuda']);
    const webgpu = await ModelSession.load(
      await reluModel(),
      { device: 'auto', name: 'relu' },
      noCuda,
    );
    expect(webgpu.provider).toBe('webgpu');
    expect(noCuda.tried).toEqual(['cuda', 'webgpu']);
    await webgpu.release();

    const withCuda = machineWhere([]);
    const cuda = await ModelSession.load(
      await reluModel(),
      { device: 'auto', name: 'relu' },
      withCuda,
    );
    expect(cuda.provider).toBe('cuda');
    expect(withCuda.tried).toEqual(['cuda']);
    await cuda.release();
  });

  it('says why auto passed over each provider it preferred (loudly, not silently)', async () => {
    const cudaBroken = machineWhere(['cuda']);
    const choice = await chooseProvider('auto', cudaBroken);
    expect(choice.provider).toBe('webgpu');
    expect(choice.refused).toEqual([{ provider: 'cuda', reason: 'no cuda device' }]);

    const noGpu = await chooseProvider('auto', machineWhere(['cuda', 'webgpu']));
    expect(noGpu).toEqual({
      provider: 'cpu',
      refused: [
        { provider: 'cuda', reason: 'no cuda device' },
        { provider: 'webgpu', reason: 'no webgpu device' },
      ],
    });

    const notInstalled = { ...machineWhere(['webgpu']), hasCuda: () => false };
    const cpu = await chooseProvider('auto', notInstalled);
    expect(cpu.provider).toBe('cpu');
    expect(cpu.refused.map((refused) => refused.provider)).toEqual(['cuda', 'webgpu']);
    expect(cpu.refused[0]?.reason).toMatch(/libonnxruntime_providers_cuda\.so\) is not installed/);
    expect(notInstalled.tried).toEqual(['webgpu', 'cpu']);

    // A device that is set is taken as it is (its models fail to load if it cannot run).
    expect(await chooseProvider('cuda', machineWhere(['cuda']))).toEqual({
      provider: 'cuda',
      refused: [],
    });
    await expect(chooseProvider('auto', machineWhere(['cuda', 'webgpu', 'cpu']))).rejects.toThrow(
      /No execution provider loads a model: cuda: no cuda device; webgpu: .*; cpu: no cpu device/,
    );
  });

  it('names every provider it tried when none loads the model', async () => {
    await expect(
      ModelSession.load(
        await reluModel(),
        { device: 'auto', name: 'relu' },
        machineWhere(['cuda', 'webgpu', 'cpu']),
      ),
    ).rejects.toThrow(
      'Could not load the relu model on device "auto": cuda: no cuda device; ' +
        'webgpu: no webgpu device; cpu: no cpu device',
    );
  });

  it('tries only the configured provider when the device is set', async () => {
    const machine = machineWhere(['cuda']);
    await expect(
      ModelSession.load(await reluModel(), { device: 'cuda', name: 'relu' }, machine),
    ).rejects.toThrow(/on device "cuda": cuda: no cuda device$/);
    expect(machine.tried).toEqual(['cuda']);
  });

  it('says which model failed to load and why', async () => {
    await expect(
      ModelSession.load(new Uint8Array([1, 2, 3]), { device: 'cpu', name: 'broken' }),
    ).rejects.toThrow(/Could not load the broken model on device "cpu": cpu: /);
  });
});
