/**
 * Stopping a job in the model thread, and pacing its steps (ZEUS_MIN_STEP_MS), for real
 * (tiny-random on ONNX Runtime in its thread): a stopped job lets the next one start at once,
 * because the thread reads a shared stop flag between steps (and wakes from a paced wait),
 * whatever its event loop is doing. Nothing here is timed against the wall clock: pacing is a
 * lower bound that only a broken pacer can miss, and the stop is checked with steps paced to ten
 * minutes, which a thread that did not stop would sit out (this test gives up long before).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationHooks, PipelineProgress } from '../types.ts';
import { ThreadedPipeline } from './threaded-pipeline.ts';

const STEP_MS = 300;
/** Steps paced this long never end within a test: only a stop gets past them. */
const ENDLESS_STEP_MS = 10 * 60_000;
/** Atomics.wait's timeout may end up to a millisecond early, per paced step. */
const TIMER_SLACK_MS = 1;
let dir: string;
/** Paced to STEP_MS, and to ENDLESS_STEP_MS: two threads, loaded side by side. */
let paced: ThreadedPipeline;
let endless: ThreadedPipeline;

const settings: GenerationSettings = {
  prompt: 'a paced lighthouse',
  negativePrompt: '',
  width: 64,
  height: 64,
  numFrames: 9,
  frameRate: 8,
  seed: 5,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-threaded-pacing-'));
  const files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
  [paced, endless] = [STEP_MS, ENDLESS_STEP_MS].map(
    (minStepMs) =>
      new ThreadedPipeline({
        pipeline: { name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 },
        minStepMs,
      }),
  ) as [ThreadedPipeline, ThreadedPipeline];
  await Promise.all([paced.load(), endless.load()]);
});
afterAll(async () => {
  await Promise.all([paced.dispose(), endless.dispose()]);
  await rm(dir, { recursive: true, force: true });
});

function hooksFor(
  signal: AbortSignal,
  onProgress: (progress: PipelineProgress, at: number) => void,
): GenerationHooks {
  return {
    onProgress: (progress) => {
      onProgress(progress, performance.now());
    },
    frames: { write: () => Promise.resolve() },
    signal,
  };
}

describe('ThreadedPipeline pacing and stopping', () => {
  it('paces each denoising step to at least ZEUS_MIN_STEP_MS', async () => {
    const steps: { step: number; at: number }[] = [];
    const calledAt = performance.now();
    await paced.generate(
      settings,
      hooksFor(new AbortController().signal, (progress, at) => {
        if (progress.stage === 'DENOISING') steps.push({ step: progress.step, at });
      }),
    );
    expect(steps.map(({ step }) => step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Step k is reported after k paced steps, each at least STEP_MS: however late a report
    // arrives, it cannot arrive sooner.
    for (const { step, at } of steps) {
      expect(at - calledAt, `step ${step}`).toBeGreaterThanOrEqual(
        step * (STEP_MS - TIMER_SLACK_MS),
      );
    }
  });

  it('stops a job between steps, even in a paced wait, so that the next job starts', async () => {
    // Each job is stopped at its first step: the thread is then computing step 1 or waiting out
    // its ten minutes, and must give up either at once.
    const runStoppedAtFirstStep = async (): Promise<number[]> => {
      const controller = new AbortController();
      const steps: number[] = [];
      const job = endless.generate(
        settings,
        hooksFor(controller.signal, (progress) => {
          if (progress.stage !== 'DENOISING') return;
          steps.push(progress.step);
          controller.abort(new Error('cancelled'));
        }),
      );
      await expect(job).rejects.toThrow('cancelled');
      return steps;
    };
    expect(await runStoppedAtFirstStep()).toEqual([0]);
    // The next job waits for the thread to have stopped the first (ThreadedPipeline runs one
    // at a time), and starts: its first step comes, where the first job still had 80 minutes.
    expect(await runStoppedAtFirstStep()).toEqual([0]);
  });
});
