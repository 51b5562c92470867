import { describe, expect, it } from 'vitest';
import { serviceModelStatus, type ModelStatus } from './model-status.ts';

const status = (state: ModelStatus['state'], progress: number | null = null): ModelStatus => ({
  state,
  message: `${state} ${progress ?? ''}`,
  progress,
});

describe('serviceModelStatus', () => {
  it('is null without workers, or when none reports a status', () => {
    expect(serviceModelStatus([])).toBeNull();
    expect(serviceModelStatus([{ modelReady: false }])).toBeNull();
  });

  it('is READY as soon as one worker has the model loaded', () => {
    expect(
      serviceModelStatus([
        { modelReady: false, modelStatus: status('DOWNLOADING', 0.5) },
        { modelReady: true, modelStatus: status('READY') },
        { modelReady: true },
      ]),
    ).toEqual({ state: 'READY', message: 'The model is loaded on 2 workers.', progress: null });
  });

  it('otherwise shows the worker furthest along', () => {
    expect(
      serviceModelStatus([
        { modelReady: false, modelStatus: status('FAILED') },
        { modelReady: false, modelStatus: status('DOWNLOADING', 0.7) },
        { modelReady: false, modelStatus: status('CONVERTING', 0.1) },
        { modelReady: false, modelStatus: status('DOWNLOADING', 0.9) },
      ]),
    ).toEqual(status('CONVERTING', 0.1));
    expect(
      serviceModelStatus([
        { modelReady: false, modelStatus: status('DOWNLOADING', 0.2) },
        { modelReady: false, modelStatus: status('DOWNLOADING', 0.6) },
      ]),
    ).toEqual(status('DOWNLOADING', 0.6));
    expect(serviceModelStatus([{ modelReady: false, modelStatus: status('FAILED') }])).toEqual(
      status('FAILED'),
    );
  });
});
