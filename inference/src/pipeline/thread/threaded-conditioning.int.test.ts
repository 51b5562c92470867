/**
 * Image-to-video and live previews across the model thread: the prepared first frame goes in,
 * previews come out (their bytes transferred), and both give what the pipeline gives in-process.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec, type ModelFiles } from '@zeus/models';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PlanarImage } from '../../image/first-frame.ts';
import { LtxPipeline } from '../../ltx/pipeline.ts';
import type { LatentPreview, VideoPipeline } from '../types.ts';
import { ThreadedPipeline } from './threaded-pipeline.ts';

let dir: string;
let files: ModelFiles;

const settings: GenerationSettings = {
  prompt: 'a lighthouse in a storm',
  negativePrompt: '',
  width: 64,
  height: 64,
  numFrames: 9,
  frameRate: 24,
  seed: 3,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-threaded-i2v-'));
  files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function firstFrame(): PlanarImage {
  const data = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i / 97));
  return { data, width: 64, height: 64 };
}

async function run(pipeline: VideoPipeline): Promise<{ video: string; previews: LatentPreview[] }> {
  const hash = createHash('sha256');
  const previews: LatentPreview[] = [];
  await pipeline.generate(settings, {
    onProgress: () => undefined,
    frames: {
      write: (frame) => {
        hash.update(frame);
        return Promise.resolve();
      },
    },
    signal: new AbortController().signal,
    firstFrame: firstFrame(),
    onPreview: (preview) => previews.push(preview),
  });
  return { video: hash.digest('hex'), previews };
}

it('conditions on the first frame and sends every preview, as in-process', async () => {
  const threaded = new ThreadedPipeline({
    pipeline: { name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 },
  });
  const local = new LtxPipeline({ name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 });
  try {
    await Promise.all([threaded.load(), local.load()]);
    const across = await run(threaded);
    const here = await run(local);
    expect(across.video).toBe(here.video);
    expect(across.previews.map((preview) => preview.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(across.previews.map((p) => Array.from(p.rgb))).toEqual(
      here.previews.map((p) => Array.from(p.rgb)),
    );
    expect(across.previews[0]).toMatchObject({ width: 2, height: 2 });
  } finally {
    await Promise.all([threaded.dispose(), local.dispose()]);
  }
});
