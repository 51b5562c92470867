import { describe, expect, it } from 'vitest';
import {
  describeProgress,
  describeSettings,
  describeExpiry,
  estimateSecondsLeft,
  estimateSecondsToStart,
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
  const running = { status: 'RUNNING' as const, estimatedFinishAt: '2026-11-27T14:30:40.000Z' };

  it("counts down to the server's estimated finish", () => {
    expect(estimateSecondsLeft(running, at(10))).toBeCloseTo(30);
    expect(estimateSecondsLeft(running, at(39))).toBeCloseTo(1);
    // Past the estimate: nothing left, not a negative time.
    expect(estimateSecondsLeft(running, at(45))).toBe(0);
    expect(estimateSecondsLeft({ ...running, status: 'QUEUED' }, at(10))).toBeCloseTo(30);
  });

  it('has none without an estimate from the server, or once the job is over', () => {
    expect(estimateSecondsLeft({ ...running, estimatedFinishAt: null }, at(5))).toBe(null);
    expect(estimateSecondsLeft({ ...running, status: 'SUCCEEDED' }, at(5))).toBe(null);
  });
});

describe('estimateSecondsToStart and describeExpiry', () => {
  it('counts down to a queued job’s estimated start', () => {
    const queued = { status: 'QUEUED' as const, estimatedStartAt: '2026-11-27T14:30:12.000Z' };
    expect(estimateSecondsToStart(queued, at(2))).toBeCloseTo(10);
    expect(estimateSecondsToStart({ ...queued, status: 'RUNNING' }, at(2))).toBe(null);
  });

  it('says when a finished job expires', () => {
    expect(describeExpiry({ expiresAt: '2026-12-04T14:30:00.000Z' }, at(0))).toBe('Expires in 7 d');
    expect(describeExpiry({ expiresAt: '2026-11-27T15:34:00.000Z' }, at(0))).toBe(
      'Expires in 1 h 4 min',
    );
    expect(describeExpiry({ expiresAt: null }, at(0))).toBe(null);
  });
});

describe('formatDuration', () => {
  it('uses seconds, minutes and hours', () => {
    expect(formatDuration(4.4)).toBe('4 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3840)).toBe('1 h 4 min');
    expect(formatDuration(7 * 86_400 + 3 * 3_600)).toBe('7 d 3 h');
  });
});

describe('describeProgress', () => {
  it('gives the queue position while queued', () => {
    expect(describeProgress(job({ id: 'a', queuePosition: 3 }), 0)).toBe(
      'Waiting in the queue, position 3',
    );
    expect(describeProgress(job({ id: 'a', queuePosition: 1 }), 0)).toBe('Next in the queue');
    expect(
      describeProgress(
        job({ id: 'a', queuePosition: 2, estimatedStartAt: '2026-11-27T14:30:12.000Z' }),
        at(0),
      ),
    ).toBe('Waiting in the queue, position 2 · starts in about 12 s');
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
      estimatedFinishAt: '2026-11-27T14:30:12.000Z',
    });
    expect(describeProgress(running, at(6))).toBe('Denoising · step 4 of 8 · about 6 s left');
  });

  it('says when it is almost done', () => {
    const saving = job({
      id: 'a',
      status: 'RUNNING',
      stage: 'SAVING',
      progress: 0.97,
      step: 8,
      queuePosition: null,
      startedAt: STARTED,
      estimatedFinishAt: '2026-11-27T14:30:03.400Z',
    });
    expect(describeProgress(saving, at(3))).toBe('Saving the video · almost done');
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
