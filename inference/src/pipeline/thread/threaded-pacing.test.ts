/**
 * Stopping a job in the model thread, and pacing its steps (ZEUS_MIN_STEP_MS), for real
 * (tiny-random on ONNX Runtime in its thread): a stopped job lets the next one start within one
 * denoising step, because the thread reads a shared stop flag between steps, whatever its event
 * loop is doing.
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
let dir: string;
let threaded: ThreadedPipeline;

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
  threaded = new ThreadedPipeline({
    pipeline: { name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 },
    minStepMs: STEP_MS,
  });
  await threaded.load();
});
afterAll(async () => {
  await threaded.dispose();
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
  it('paces each step, and stops within one step so the next job starts', async () => {
    const controller = new AbortController();
    const steps: { step: number; at: number }[] = [];
    let abortedAt = 0;
    const first = threaded.generate(
      settings,
      hooksFor(controller.signal, (progress, at) => {
        if (progress.stage !== 'DENOISING') return;
        steps.push({ step: progress.step, at });
        if (progress.step === 2) {
          abortedAt = performance.now();
          controller.abort(new Error('cancelled'));
        }
      }),
    );
    await expect(first).rejects.toThrow('cancelled');
    expect(steps.map((s) => s.step)).toEqual([0, 1, 2]);
    for (let i = 1; i < steps.length; i++) {
      const gap = (steps[i]?.at ?? 0) - (steps[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(STEP_MS - 20);
    }

    // The next job waits for the thread to stop the first one: within one step.
    let nextStartedAt = 0;
    const next: PipelineProgress[] = [];
    await threaded.generate(
      settings,
      hooksFor(new AbortController().signal, (progress, at) => {
        if (next.length === 0) nextStartedAt = at;
        next.push(progress);
      }),
    );
    expect(next.at(-1)).toMatchObject({ stage: 'DECODING' });
    expect(next.filter((p) => p.stage === 'DENOISING').map((p) => p.step)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect(nextStartedAt - abortedAt).toBeLessThan(STEP_MS);
  });
});
