import { createHash } from 'node:crypto';
import type { GenerationSettings } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from './create-pipeline.ts';
import { PlaceholderPipeline } from './placeholder.ts';
import type { PipelineProgress } from './types.ts';

const settings: GenerationSettings = {
  prompt: 'a red kite over the sea',
  negativePrompt: '',
  width: 96,
  height: 64,
  numFrames: 17,
  frameRate: 8,
  seed: 1234,
};

let pipeline: PlaceholderPipeline;
beforeAll(async () => {
  pipeline = new PlaceholderPipeline({ device: 'cpu', steps: 8 });
  await pipeline.load();
});
afterAll(async () => {
  await pipeline.dispose();
});

async function generate(
  run: GenerationSettings,
  signal = new AbortController().signal,
): Promise<{ frames: Uint8Array[]; progress: PipelineProgress[] }> {
  const frames: Uint8Array[] = [];
  const progress: PipelineProgress[] = [];
  await pipeline.generate(run, {
    onProgress: (update) => progress.push(update),
    frames: {
      write: (frame) => {
        frames.push(Uint8Array.from(frame));
        return Promise.resolve();
      },
    },
    signal,
  });
  return { frames, progress };
}

function digest(frames: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const frame of frames) hash.update(frame);
  return hash.digest('hex');
}

describe('placeholder pipeline (tiny-random, real ONNX Runtime)', () => {
  it('produces numFrames RGB24 frames of the requested size', async () => {
    const { frames } = await generate(settings);
    expect(frames).toHaveLength(17);
    for (const frame of frames) expect(frame.byteLength).toBe(96 * 64 * 3);
    // Not a flat image: the decoder draws something.
    const first = frames[0] ?? new Uint8Array();
    expect(new Set(first).size).toBeGreaterThan(10);
    // And the video moves.
    expect(digest(frames.slice(0, 1))).not.toBe(digest(frames.slice(16, 17)));
  });

  it('reports each stage, and each denoising step in order', async () => {
    const { progress } = await generate(settings);
    expect(progress.map((p) => `${p.stage}:${p.step}`)).toEqual([
      'ENCODING_PROMPT:0',
      'DENOISING:0',
      ...Array.from({ length: 8 }, (_, i) => `DENOISING:${i + 1}`),
      'DECODING:8',
    ]);
    expect(new Set(progress.map((p) => p.totalSteps))).toEqual(new Set([8]));
  });

  it('is deterministic in the seed and the prompt', async () => {
    const a = digest((await generate(settings)).frames);
    expect(digest((await generate(settings)).frames)).toBe(a);
    expect(digest((await generate({ ...settings, seed: 1235 })).frames)).not.toBe(a);
    expect(digest((await generate({ ...settings, prompt: 'a blue kite' })).frames)).not.toBe(a);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    let written = 0;
    const run = pipeline.generate(settings, {
      onProgress: (update) => {
        if (update.stage === 'DENOISING' && update.step === 3) controller.abort(reason);
      },
      frames: {
        write: () => {
          written += 1;
          return Promise.resolve();
        },
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toBe(reason);
    expect(written).toBe(0);
  });

  it('says clearly that the real model is not available yet', () => {
    expect(() => createPipeline({ model: 'ltxv-2b-0.9.6-distilled', device: 'cpu' })).toThrow(
      /not available yet.*ZEUS_MODEL=tiny-random/,
    );
    expect(createPipeline({ model: 'tiny-random', device: 'cpu' }).name).toBe('tiny-random');
  });
});
