/**
 * LtxPipeline on the tiny-random model set (generated like the worker does), for real on ONNX
 * Runtime: frames, progress, determinism, the crop of sizes the VAE cannot make directly,
 * refusal of over-long prompts, reuse of a repeated prompt's embeddings, cancellation. Parity
 * with the official pipeline is parity.int.test.ts's (the pipeline component).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure, type GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec, type ModelFiles } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LtxPipeline } from '../../src/ltx/pipeline.ts';
import type {
  LtxGenerationHooks,
  ModelLoadProgress,
  PipelineTrace,
} from '../../src/ltx/pipeline-types.ts';
import type { GenerationStats, PipelineProgress } from '../../src/pipeline/types.ts';
import { SeededNoise } from '../../src/sampler/noise.ts';

let dir: string;
let files: ModelFiles;
let pipeline: LtxPipeline;
const loadEvents: ModelLoadProgress[] = [];

const settings: GenerationSettings = {
  prompt: 'a red kite over the sea',
  negativePrompt: '',
  width: 96,
  height: 64,
  numFrames: 17,
  frameRate: 8,
  seed: 1234,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-ltx-pipeline-'));
  files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
  pipeline = new LtxPipeline({
    name: 'tiny-random',
    files,
    device: 'cpu',
    intraOpThreads: 1,
    onLoadProgress: (event) => loadEvents.push(event),
  });
  await pipeline.load();
});
afterAll(async () => {
  await pipeline.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function generate(
  run: GenerationSettings,
  extra: Partial<LtxGenerationHooks> = {},
): Promise<{ frames: Uint8Array[]; progress: PipelineProgress[] }> {
  const frames: Uint8Array[] = [];
  const progress: PipelineProgress[] = [];
  await pipeline.generate(run, {
    onProgress: (update) => progress.push(update),
    frames: {
      write: (frame) => {
        frames.push(frame);
        return Promise.resolve();
      },
    },
    signal: new AbortController().signal,
    ...extra,
  });
  return { frames, progress };
}

function digest(frames: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const frame of frames) hash.update(frame);
  return hash.digest('hex');
}

describe('LtxPipeline (tiny-random, CPU)', () => {
  it('converts every model through the cache, then reloads from it without converting', async () => {
    const converted = new Set(
      loadEvents.filter((e) => e.phase === 'converting').map((e) => e.component),
    );
    expect(converted).toEqual(
      new Set([
        'transformer',
        'VAE decoder',
        'VAE encoder',
        'live-preview projection',
        'text encoder',
      ]),
    );
    expect(pipeline.info).toMatchObject({
      provider: 'cpu',
      precision: 'fp32',
      textEncoder: { placement: 'cpu' },
      latentChannels: 128,
      scale: { spatial: 32, temporal: 8 },
      notices: [],
      models: [
        { component: 'transformer', provider: 'cpu', precision: 'fp32' },
        { component: 'VAE decoder', provider: 'cpu', precision: 'fp32' },
        { component: 'VAE encoder', provider: 'cpu', precision: 'fp32' },
        { component: 'text encoder', provider: 'cpu', precision: 'fp32' },
      ],
    });
    const again: ModelLoadProgress[] = [];
    const second = new LtxPipeline({
      name: 'tiny-random',
      files,
      device: 'cpu',
      onLoadProgress: (event) => again.push(event),
    });
    await second.load();
    await second.dispose();
    expect(again.filter((e) => e.phase === 'converting')).toEqual([]);
    expect(again.filter((e) => e.phase === 'loading').length).toBeGreaterThanOrEqual(3);
  });

  it('makes numFrames RGB24 frames of the requested size, reporting each stage and step', async () => {
    const { frames, progress } = await generate(settings);
    expect(frames).toHaveLength(17);
    for (const frame of frames) expect(frame.byteLength).toBe(96 * 64 * 3);
    expect(new Set(frames[0]).size).toBeGreaterThan(10);
    expect(digest(frames.slice(0, 1))).not.toBe(digest(frames.slice(16, 17)));
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

  it('draws its step noise on the helper thread, exactly as drawing it in place', async () => {
    const ahead = digest((await generate(settings)).frames);
    // SeededNoise without a helper draws everything in place, on this thread.
    const inPlace = digest(
      (await generate(settings, { noise: new SeededNoise(settings.seed) })).frames,
    );
    expect(ahead).toBe(inPlace);
  });

  it('reports JS time and host traffic per step and per video', async () => {
    const reports: GenerationStats[] = [];
    await generate(settings, { onStats: (stats) => reports.push(stats) });
    expect(reports).toHaveLength(1);
    const stats = reports[0];
    expect(stats?.steps).toHaveLength(8);
    // 96x64x17 → 3 latent frames of 2x3 cells with 128 channels (tiny-random: 32x8x8 VAE).
    const latentBytes = 4 * 3 * 2 * 3 * 128;
    for (const step of stats?.steps ?? []) {
      expect(step.runMs).toBeGreaterThan(0);
      expect(step.jsMs).toBeCloseTo(step.wallMs - step.runMs, 6);
      // The latents in (and the conditioning fed with them), the velocity out.
      expect(step.toRuntimeBytes).toBeGreaterThan(latentBytes);
      expect(step.fromRuntimeBytes).toBe(latentBytes);
    }
    const sum = (key: 'toRuntimeBytes' | 'fromRuntimeBytes'): number =>
      (stats?.steps ?? []).reduce((total, step) => total + step[key], 0);
    // The whole video adds the decode (17 RGB24 frames out at least).
    expect(stats?.toRuntimeBytes).toBeGreaterThan(sum('toRuntimeBytes'));
    expect(stats?.fromRuntimeBytes).toBeGreaterThanOrEqual(
      sum('fromRuntimeBytes') + 17 * 96 * 64 * 3,
    );
    // 8 steps and the decoder (the prompt's embeddings may come from the cache).
    expect(stats?.runs).toBeGreaterThanOrEqual(9);
  });

  it('reuses the embeddings of a repeated prompt', async () => {
    const seen: Float32Array[] = [];
    const trace: PipelineTrace = { prompt: (encoded) => seen.push(encoded.embeddings) };
    await generate({ ...settings, prompt: 'the same words twice' }, { trace });
    await generate({ ...settings, prompt: 'the same words twice', seed: 9 }, { trace });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(seen[0]);
  });

  it('centre-crops sizes the VAE cannot make and cuts extra frames from the end', async () => {
    // 80x50x14 is generated as 96x64x17 with the same latents: the frames must be the centre
    // (8 columns off the left, 7 rows off the top) of the first 14 frames of that video.
    const full = (await generate(settings)).frames;
    const { frames } = await generate({ ...settings, width: 80, height: 50, numFrames: 14 });
    expect(frames).toHaveLength(14);
    for (const [index, frame] of frames.entries()) {
      const source = full[index]!;
      const expected = new Uint8Array(80 * 50 * 3);
      for (let y = 0; y < 50; y++) {
        const from = ((7 + y) * 96 + 8) * 3;
        expected.set(source.subarray(from, from + 80 * 3), y * 80 * 3);
      }
      expect(digest([frame]), `frame ${index}`).toBe(digest([expected]));
    }
  });

  it('refuses a prompt over the token limit with INVALID_JOB, never truncating it', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const failure = await generate({ ...settings, prompt: long }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure).toMatchObject({ code: 'INVALID_JOB' });
    expect((failure as Error).message).toMatch(
      /limit is 255 tokens \(256 with the end-of-sequence/,
    );
  });

  it('stops when aborted, before writing frames', async () => {
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
});
