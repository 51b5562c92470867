import { describe, expect, it } from 'vitest';
import {
  jobSeconds,
  queueStarts,
  remainingSeconds,
  timingsFor,
  updateTimings,
  workersBusyFor,
  type StageTimings,
} from './eta.ts';

const timings: StageTimings = {
  setupSeconds: 2,
  stepSeconds: 3,
  decodeSeconds: 5,
  saveSeconds: 1,
  samples: 4,
};

describe('moving averages of stage timings', () => {
  it('starts from the first job, averages the first few, then weighs the newest by 0.3', () => {
    const first = updateTimings(undefined, {
      setupSeconds: 1,
      stepSeconds: 2,
      decodeSeconds: 4,
      saveSeconds: 0.5,
    });
    expect(first).toEqual({
      setupSeconds: 1,
      stepSeconds: 2,
      decodeSeconds: 4,
      saveSeconds: 0.5,
      samples: 1,
    });
    // Second job: a plain mean (weight 1/2).
    const second = updateTimings(first, {
      setupSeconds: 3,
      stepSeconds: 4,
      decodeSeconds: 6,
      saveSeconds: 1.5,
    });
    expect(second).toMatchObject({ setupSeconds: 2, stepSeconds: 3, decodeSeconds: 5, samples: 2 });
    // Later jobs: EMA with weight 0.3; a job that loaded the model leaves setup alone.
    const later = updateTimings(timings, {
      setupSeconds: null,
      stepSeconds: 13,
      decodeSeconds: 5,
      saveSeconds: 1,
    });
    expect(later.setupSeconds).toBe(2);
    expect(later.stepSeconds).toBeCloseTo(6);
    expect(later.samples).toBe(5);
  });

  it('uses a size class as measured, or scales the nearest one by tokens', () => {
    const table = new Map([
      [100, timings],
      [1_000, { ...timings, stepSeconds: 30 }],
    ]);
    expect(timingsFor(table, 100)).toBe(timings);
    expect(timingsFor(table, 200)).toMatchObject({
      setupSeconds: 2,
      stepSeconds: 6,
      decodeSeconds: 10,
      saveSeconds: 2,
    });
    // Nearer to 1 000 than to 100 in ratio.
    expect(timingsFor(table, 500)?.stepSeconds).toBeCloseTo(15);
    expect(timingsFor(new Map(), 100)).toBeNull();
    expect(jobSeconds(timings, 8)).toBe(2 + 24 + 5 + 1);
  });
});

describe('seconds left for a running job', () => {
  const base = { totalSteps: 8, inStageSeconds: 0, ownStepSeconds: null, timings };

  it('adds up the stages still to come', () => {
    expect(remainingSeconds({ ...base, stage: 'LOADING_MODEL', step: 0 })).toBe(32);
    expect(
      remainingSeconds({ ...base, stage: 'ENCODING_PROMPT', step: 0, inStageSeconds: 1.5 }),
    ).toBe(0.5 + 24 + 6);
    expect(remainingSeconds({ ...base, stage: 'DENOISING', step: 0 })).toBe(24 + 6);
    expect(remainingSeconds({ ...base, stage: 'DECODING', step: 8, inStageSeconds: 2 })).toBe(4);
    expect(remainingSeconds({ ...base, stage: 'DECODING', step: 8, inStageSeconds: 9 })).toBe(1);
    expect(remainingSeconds({ ...base, stage: 'SAVING', step: 8, inStageSeconds: 0.25 })).toBe(
      0.75,
    );
  });

  it("trusts the job's own steps once it has some", () => {
    // This worker is twice as slow as the average: the estimate follows it.
    expect(remainingSeconds({ ...base, stage: 'DENOISING', step: 4, ownStepSeconds: 6 })).toBe(
      4 * 6 + 6,
    );
    // Published a little after the step finished: that time is already spent.
    expect(
      remainingSeconds({
        ...base,
        stage: 'DENOISING',
        step: 4,
        ownStepSeconds: 6,
        inStageSeconds: 1,
      }),
    ).toBe(4 * 6 - 1 + 6);
  });

  it('is within 20% at mid-job when the steps keep their pace', () => {
    // A job whose steps take 10% longer than the average: at step 4 of 8 the estimate uses them.
    const actualLeft = 4 * 3.3 + 5 + 1;
    const estimate =
      remainingSeconds({ ...base, stage: 'DENOISING', step: 4, ownStepSeconds: 3.3 }) ?? 0;
    expect(Math.abs(estimate - actualLeft) / actualLeft).toBeLessThan(0.2);
  });

  it('guesses without averages only once the job has a step of its own', () => {
    const none = { ...base, timings: null };
    expect(remainingSeconds({ ...none, stage: 'LOADING_MODEL', step: 0 })).toBeNull();
    expect(remainingSeconds({ ...none, stage: 'DENOISING', step: 0 })).toBeNull();
    expect(remainingSeconds({ ...none, stage: 'DENOISING', step: 2, ownStepSeconds: 1 })).toBe(7);
    expect(remainingSeconds({ ...none, stage: 'DECODING', step: 8 })).toBeNull();
  });
});

describe('queue start estimates', () => {
  it('hands each queued job to the worker free first', () => {
    // One worker busy for 10 s: jobs of 5 s start at 10, 15, 20.
    expect(queueStarts([10], [5, 5, 5])).toEqual([10, 15, 20]);
    // Two workers, one idle: the first job starts now, the next when the busy one is done.
    expect(queueStarts([10, 0], [5, 5, 5])).toEqual([0, 5, 10]);
  });

  it('stops estimating after a job of unknown length, and without workers', () => {
    expect(queueStarts([0], [5, null, 5])).toEqual([0, 5, null]);
    expect(queueStarts([], [5])).toEqual([null]);
  });

  it('counts running jobs and idle workers', () => {
    expect(workersBusyFor(3, [4, null], 7)).toEqual([4, 7, 0]);
    expect(workersBusyFor(1, [2.5])).toEqual([2.5]);
    expect(workersBusyFor(0, [2.5])).toEqual([]);
    expect(workersBusyFor(2, [-1])).toEqual([0, 0]);
  });
});
