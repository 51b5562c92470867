import { describe, expect, it } from 'vitest';
import {
  describeProgress,
  describeSettings,
  estimateSecondsLeft,
  formatDuration,
  progressPercent,
} from '../src/jobs/progress.ts';
import { job } from './fixtures.ts';

const STARTED = '2026-11-27T14:30:00.000Z';
const at = (seconds: number): number => Date.parse(STARTED) + seconds * 1000;

describe('progressPercent', () => {
  it('rounds progress to whole percents within 0..100', () => {
    expect(progressPercent({ status: 'RUNNING', progress: 0.374 })).toBe(37);
    expect(progressPercent({ status: 'RUNNING', progress: -0.2 })).toBe(0);
    expect(progressPercent({ status: 'RUNNING', progress: 1.3 })).toBe(100);
    expect(progressPercent({ status: 'RUNNING', progress: Number.NaN })).toBe(0);
  });

  it('is 100 once the job succeeded', () => {
    expect(progressPercent({ status: 'SUCCEEDED', progress: 0.9 })).toBe(100);
  });
});

describe('estimateSecondsLeft', () => {
  it('extrapolates from the time since the job started', () => {
    const running = { status: 'RUNNING' as const, progress: 0.25, startedAt: STARTED };
    expect(estimateSecondsLeft(running, at(10))).toBeCloseTo(30);
  });

  it('has no estimate before progress or outside RUNNING', () => {
    expect(estimateSecondsLeft({ status: 'RUNNING', progress: 0, startedAt: STARTED }, at(5))).toBe(
      null,
    );
    expect(estimateSecondsLeft({ status: 'QUEUED', progress: 0.5, startedAt: null }, at(5))).toBe(
      null,
    );
  });
});

describe('formatDuration', () => {
  it('uses seconds, minutes and hours', () => {
    expect(formatDuration(4.4)).toBe('4 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3840)).toBe('1 h 4 min');
  });
});

describe('describeProgress', () => {
  it('gives the queue position while queued', () => {
    expect(describeProgress(job({ id: 'a', queuePosition: 3 }), 0)).toBe(
      'Waiting in the queue, position 3',
    );
    expect(describeProgress(job({ id: 'a', queuePosition: 1 }), 0)).toBe('Next in the queue');
  });

  it('gives the stage, the step and the time left while denoising', () => {
    const running = job({
      id: 'a',
      status: 'RUNNING',
      stage: 'DENOISING',
      progress: 0.5,
      step: 4,
      queuePosition: null,
      startedAt: STARTED,
    });
    expect(describeProgress(running, at(6))).toBe('Denoising · step 4 of 8 · about 6 s left');
  });

  it('names other stages without steps', () => {
    const loading = job({
      id: 'a',
      status: 'RUNNING',
      stage: 'LOADING_MODEL',
      queuePosition: null,
    });
    expect(describeProgress(loading, 0)).toBe('Loading the model');
  });
});

describe('describeSettings', () => {
  it('gives size, frames, length and seed', () => {
    expect(
      describeSettings({ width: 256, height: 256, numFrames: 17, frameRate: 25, seed: 42 }),
    ).toBe('256×256 · 17 frames at 25 fps (0.68 s) · seed 42');
  });
});
