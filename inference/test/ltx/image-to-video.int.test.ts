/**
 * LtxPipeline's image-to-video and live previews on the tiny-random model (CPU, real ONNX
 * Runtime): the first frame conditioned on an image as the official pipeline does, and one
 * preview per step that changes nothing in the video.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanarImage } from '../../src/image/first-frame.ts';
import { LtxPipeline } from '../../src/ltx/pipeline.ts';
import type { LtxGenerationHooks } from '../../src/ltx/pipeline-types.ts';
import type { LatentPreview } from '../../src/ltx/preview.ts';

let dir: string;
let pipeline: LtxPipeline;

const settings: GenerationSettings = {
  prompt: 'a lighthouse in a storm',
  negativePrompt: '',
  width: 96,
  height: 64,
  numFrames: 17,
  frameRate: 8,
  seed: 77,
};

/** A prepared first frame: left half bright red, right half dark blue. */
function splitImage(width: number, height: number): PlanarImage {
  const data = new Float32Array(3 * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const left = x < width / 2;
      data[(0 * height + y) * width + x] = left ? 0.9 : -0.9;
      data[(1 * height + y) * width + x] = -0.5;
      data[(2 * height + y) * width + x] = left ? -0.9 : 0.6;
    }
  }
  return { data, width, height };
}

interface Run {
  frames: Uint8Array[];
  previews: LatentPreview[];
  finalLatents: Float32Array;
  imageLatents?: Float32Array;
}

async function generate(extra: Partial<LtxGenerationHooks> = {}): Promise<Run> {
  const run: Run = { frames: [], previews: [], finalLatents: new Float32Array() };
  await pipeline.generate(settings, {
    onProgress: () => undefined,
    frames: {
      write: (frame) => {
        run.frames.push(frame);
        return Promise.resolve();
      },
    },
    signal: new AbortController().signal,
    trace: {
      finalLatents: (latents) => {
        run.finalLatents = latents;
      },
      firstFrameLatents: (latents) => {
        run.imageLatents = latents;
      },
    },
    ...extra,
  });
  return run;
}

function digest(frames: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const frame of frames) hash.update(frame);
  return hash.digest('hex');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-i2v-'));
  const files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
  pipeline = new LtxPipeline({ name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 });
  await pipeline.load();
});
afterAll(async () => {
  await pipeline.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('live previews', () => {
  it('come once per step at latent resolution and leave the video as it is', async () => {
    const plain = await generate();
    const previews: LatentPreview[] = [];
    const withPreviews = await generate({ onPreview: (preview) => previews.push(preview) });
    expect(digest(withPreviews.frames)).toBe(digest(plain.frames));
    expect(previews.map((preview) => preview.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const preview of previews) {
      expect([preview.width, preview.height]).toEqual([3, 2]);
      expect(preview.rgb).toHaveLength(3 * 2 * 3);
    }
  });
});

describe('image-to-video', () => {
  it('conditions the first latent frame on the image, deterministically', async () => {
    const image = splitImage(96, 64);
    const plain = await generate();
    const conditioned = await generate({ firstFrame: image });
    const repeated = await generate({ firstFrame: image });
    expect(conditioned.frames).toHaveLength(17);
    expect(digest(repeated.frames)).toBe(digest(conditioned.frames));
    expect(digest(conditioned.frames)).not.toBe(digest(plain.frames));

    // The first latent frame ends as the image's latents plus 0.15·ε·t_last² (t_last = 0.421875):
    // at most a few hundredths off, where an unconditioned frame is off by about one.
    const imageLatents = conditioned.imageLatents ?? new Float32Array();
    const [channels, plane, frames] = [128, 2 * 3, 3];
    let conditionedError = 0;
    let plainError = 0;
    for (let c = 0; c < channels; c++) {
      for (let n = 0; n < plane; n++) {
        const target = imageLatents[c * plane + n] ?? 0;
        const at = c * frames * plane + n;
        conditionedError += Math.abs((conditioned.finalLatents[at] ?? 0) - target);
        plainError += Math.abs((plain.finalLatents[at] ?? 0) - target);
      }
    }
    conditionedError /= channels * plane;
    plainError /= channels * plane;
    const expected = 0.15 * 0.421875 ** 2 * Math.sqrt(2 / Math.PI); // E|0.15·ε·t²|
    expect(conditionedError).toBeGreaterThan(expected / 2);
    expect(conditionedError).toBeLessThan(expected * 2);
    expect(plainError).toBeGreaterThan(20 * conditionedError);
  });

  it('refuses a first frame of the wrong size', async () => {
    await expect(generate({ firstFrame: splitImage(64, 64) })).rejects.toThrow(/prepared at 64×64/);
  });
});
