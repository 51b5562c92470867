import { describe, expect, it } from 'vitest';
import { localWorkerCount, workerGpuEnv, workerGpus } from './local-gpus.ts';

describe('local workers on several GPUs', () => {
  const facts = { gpus: 4, device: undefined, visibleDevices: undefined };

  it('spreads the workers over every GPU nvidia-smi lists, one each', () => {
    const gpus = workerGpus(facts);
    expect(gpus).toEqual(['0', '1', '2', '3']);
    expect([0, 1, 2, 3].map((index) => workerGpuEnv(index, gpus))).toEqual([
      { CUDA_VISIBLE_DEVICES: '0' },
      { CUDA_VISIBLE_DEVICES: '1' },
      { CUDA_VISIBLE_DEVICES: '2' },
      { CUDA_VISIBLE_DEVICES: '3' },
    ]);
    expect(workerGpus({ ...facts, device: 'cuda' })).toEqual(['0', '1', '2', '3']);
  });

  it('runs one worker per GPU unless ZEUS_WORKERS says otherwise', () => {
    expect(localWorkerCount(undefined, workerGpus(facts))).toBe(4);
    expect(localWorkerCount(2, workerGpus(facts))).toBe(2);
    expect(localWorkerCount(0, workerGpus(facts))).toBe(0);
    expect(localWorkerCount(undefined, [])).toBe(1);
    expect(localWorkerCount(undefined, ['0'])).toBe(1);
  });

  it('shares GPUs round robin when there are more workers than GPUs', () => {
    const gpus = workerGpus({ ...facts, gpus: 2 });
    expect([0, 1, 2].map((index) => workerGpuEnv(index, gpus))).toEqual([
      { CUDA_VISIBLE_DEVICES: '0' },
      { CUDA_VISIBLE_DEVICES: '1' },
      { CUDA_VISIBLE_DEVICES: '0' },
    ]);
  });

  it('keeps to the GPUs the operator’s CUDA_VISIBLE_DEVICES lists', () => {
    const gpus = workerGpus({ ...facts, visibleDevices: '2, 3' });
    expect(gpus).toEqual(['2', '3']);
    expect(workerGpuEnv(1, gpus)).toEqual({ CUDA_VISIBLE_DEVICES: '3' });
    expect(workerGpus({ ...facts, visibleDevices: 'GPU-8f2a' })).toEqual(['GPU-8f2a']);
    expect(workerGpus({ ...facts, visibleDevices: '' })).toEqual([]);
  });

  it('changes nothing with one GPU, none, or workers that do not use CUDA', () => {
    expect(workerGpuEnv(0, workerGpus({ ...facts, gpus: 1 }))).toEqual({});
    expect(workerGpuEnv(1, workerGpus({ ...facts, gpus: 1 }))).toEqual({});
    expect(workerGpuEnv(0, workerGpus({ ...facts, gpus: null }))).toEqual({});
    expect(workerGpuEnv(0, workerGpus({ ...facts, gpus: 0 }))).toEqual({});
    expect(workerGpus({ ...facts, device: 'cpu' })).toEqual([]);
    expect(workerGpus({ ...facts, device: 'webgpu' })).toEqual([]);
    expect(workerGpuEnv(2, workerGpus({ ...facts, device: 'CPU' }))).toEqual({});
  });
});
