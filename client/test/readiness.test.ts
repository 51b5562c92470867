import { describe, expect, it } from 'vitest';
import type { ModelStatus, SystemStatus } from '../src/api/operations.ts';
import { readiness } from '../src/jobs/readiness.ts';

const system: SystemStatus = {
  queueLength: 0,
  maxQueued: 1000,
  running: 0,
  workersOnline: 1,
  modelReady: true,
  model: 'tiny-random',
};

describe('readiness', () => {
  it('is ready with a worker that has the model loaded and room in the queue', () => {
    expect(readiness(system, undefined)).toEqual({ ready: true });
  });

  it('gives the reason Generate is off', () => {
    const reason = (status: SystemStatus | undefined, error?: { message: string }) => {
      const result = readiness(status, error);
      return result.ready ? null : result.reason;
    };
    expect(reason(undefined)).toBe('Checking whether the model is ready…');
    expect(reason(undefined, { message: 'Failed to fetch' })).toBe(
      'Zeus does not answer (Failed to fetch). Generate turns on when it does.',
    );
    expect(reason({ ...system, workersOnline: 0, modelReady: false })).toMatch(
      /^No worker is running yet/,
    );
    expect(reason({ ...system, modelReady: false })).toBe(
      'The worker is loading the model (tiny-random). Generate turns on when it is ready.',
    );
    expect(reason({ ...system, queueLength: 1000 })).toMatch(/^The queue is full \(1000 jobs\)/);
  });

  it('says what the workers are doing to get the model ready, and how far they are', () => {
    const reason = (modelStatus: ModelStatus | null) => {
      const result = readiness({ ...system, modelReady: false, modelStatus }, undefined);
      return result.ready ? null : result.reason;
    };
    expect(
      reason({ state: 'DOWNLOADING', message: 'Downloading the model files.', progress: 0.347 }),
    ).toBe(
      'The model (tiny-random) is not ready: Downloading the model files. (34 %) Generate turns on when it is ready.',
    );
    expect(
      reason({
        state: 'FAILED',
        message: 'Could not download the model: the Hub did not answer. Retrying in 30 s.',
        progress: null,
      }),
    ).toBe(
      'The model (tiny-random) is not ready: Could not download the model: the Hub did not answer. Retrying in 30 s. Generate turns on when it is ready.',
    );
    expect(reason(null)).toMatch(/^The worker is loading the model/);
  });
});
