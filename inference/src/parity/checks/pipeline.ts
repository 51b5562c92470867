/**
 * Whole-pipeline parity: the reference run replayed through `LtxPipeline` — the class the worker
 * runs — converted in the run's precision into a temporary cache, every model (the text encoder
 * too) on its device, with the run's settings
 * (prompt, size, frames, frame rate, seed, steps, decode timestep and noise scale, text length)
 * and the reference's recorded random draws injected in `rng_draw_order` (`ReplayNoise`).
 * Compared:
 * - every step's input latents, velocity and output latents (`pipeline.step_<i>.*`);
 * - the final latents, the float video and the 8-bit frames (within one level, ≥ 99 % exact),
 *   decoded in the worker's streamed chunks;
 * - the token ids, when the run tokenised its prompt (a run given ids directly is replayed
 *   from those ids).
 * Every size is read from the reference's files, so other reference sets run unchanged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { cropFloatVideo, type VideoGeometry } from '../../ltx/geometry.ts';
import { LtxPipeline } from '../../ltx/pipeline.ts';
import type { LtxPipelineOptions, StepRecord } from '../../ltx/pipeline-types.ts';
import { LTX_DECODE_NOISE_SCALE, LTX_DECODE_TIMESTEP } from '../../ltx/vae-decoder.ts';
import { ReplayNoise } from '../../sampler/noise.ts';
import { frameResult, maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { frameCriterion, tolerance as toleranceFor, type TolerancePattern } from '../tolerances.ts';
import type { ParityCheck, ParityResult, ParityTarget } from '../types.ts';

const NOISE_PREFIX = 'pipeline.noise.';

export const pipelineCheck: ParityCheck = {
  component: 'pipeline',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    const { run } = reference.manifest;
    const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-pipeline-'));
    const options: LtxPipelineOptions = {
      name: 'reference',
      files: {
        checkpoint: reference.checkpointPath,
        textEncoderDir: reference.textEncoderDir,
        tokenizerDir: reference.tokenizerDir,
        onnxDir: dir,
      },
      device: target.device,
      precision: target.precision,
      textEncoder: target.device === 'cpu' ? 'cpu' : 'gpu',
      steps: run.timesteps.length,
      maxPromptTokens: run.text_encoder_max_tokens,
      decodeTimestep: configNumber(reference, 'decode_timestep', LTX_DECODE_TIMESTEP),
      decodeNoiseScale: configNumber(reference, 'decode_noise_scale', LTX_DECODE_NOISE_SCALE),
      floatOutputs: true,
      // Parity never asks for previews: no projection to fit (the `preview` check has its own).
      previews: false,
    };
    try {
      const { results } = await withPipeline(options, (pipeline) =>
        replay(reference, pipeline, target),
      );
      // Again in the smallest decoder chunks (the worker's streaming at its finest), when the
      // video is long enough to be split: the frames must not change.
      const streamed = await withPipeline({ ...options, decodeChunkFrames: 1 }, (pipeline) =>
        replay(reference, pipeline, target),
      );
      if (streamed.calls > 1) {
        for (const result of streamed.results) {
          if (result.name === 'pipeline.video_float' || result.name === 'pipeline.video_uint8') {
            results.push({ ...result, name: `${result.name} (1-frame chunks)` });
          }
        }
      }
      return results;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

async function withPipeline<T>(
  options: LtxPipelineOptions,
  use: (pipeline: LtxPipeline) => Promise<T>,
): Promise<T> {
  const pipeline = new LtxPipeline(options);
  try {
    await pipeline.load();
    return await use(pipeline);
  } finally {
    await pipeline.dispose();
  }
}

async function replay(
  reference: Reference,
  pipeline: LtxPipeline,
  target: ParityTarget,
): Promise<{ results: ParityResult[]; calls: number }> {
  const { run } = reference.manifest;
  const settings: GenerationSettings = {
    prompt: run.prompt,
    negativePrompt: run.negative_prompt,
    width: run.width,
    height: run.height,
    numFrames: run.num_frames,
    frameRate: run.frame_rate,
    seed: run.seed,
  };
  const noise = new ReplayNoise(
    await Promise.all(
      run.rng_draw_order.map(async (draw) => ({
        name: draw.name.startsWith(NOISE_PREFIX) ? draw.name.slice(NOISE_PREFIX.length) : draw.name,
        shape: draw.shape,
        values: await reference.float32(draw.name),
      })),
    ),
  );
  // The golden set drove the pipeline with token ids it chose (`run.prompt_token_ids`), which
  // are not the tokenizer's output for `run.prompt`: replay those ids then.
  const idsGivenDirectly = 'prompt_token_ids' in run;
  const promptTokens = idsGivenDirectly
    ? {
        inputIds: await reference.int64('pipeline.prompt_input_ids'),
        attentionMask: await reference.int64('pipeline.prompt_attention_mask'),
      }
    : undefined;

  const steps: StepRecord[] = [];
  let finalLatents: Float32Array | undefined;
  const videoBatches: { start: number; count: number; video: Float32Array | undefined }[] = [];
  let geometry: VideoGeometry | undefined;
  let tokenIds: BigInt64Array | undefined;
  const frames: Uint8Array[] = [];
  await pipeline.generate(settings, {
    onProgress: () => undefined,
    frames: {
      write: (frame) => {
        frames.push(frame);
        return Promise.resolve();
      },
    },
    signal: new AbortController().signal,
    noise,
    ...(promptTokens === undefined ? {} : { promptTokens }),
    trace: {
      prompt: (encoded) => {
        tokenIds = encoded.inputIds;
      },
      step: (record) => steps.push(record),
      finalLatents: (latents) => {
        finalLatents = latents;
      },
      decoded: (batch, videoGeometry) => {
        geometry = videoGeometry;
        videoBatches.push({ start: batch.start, count: batch.count, video: batch.video });
      },
    },
  });

  const results: ParityResult[] = [];
  if (!idsGivenDirectly && tokenIds !== undefined) {
    const expected = await reference.int64('pipeline.prompt_input_ids');
    results.push({
      name: 'pipeline.prompt_input_ids',
      maxAbsError: maxAbsDiff(Array.from(tokenIds, Number), Array.from(expected, Number)),
      tolerance: 0,
    });
  }
  const compare = async (
    name: string,
    actual: Float32Array | undefined,
    pattern: TolerancePattern,
  ): Promise<void> => {
    if (!reference.has(name)) return;
    const expected = await reference.float32(name);
    const tolerance = toleranceFor(reference, target, pattern, expected);
    results.push(
      actual === undefined || actual.length !== expected.length
        ? {
            name,
            maxAbsError: Infinity,
            tolerance,
            note: `${actual?.length ?? 0} values, expected ${expected.length}`,
          }
        : { name, maxAbsError: maxAbsDiff(actual, expected), tolerance },
    );
  };
  if (steps.length !== run.timesteps.length) {
    results.push({
      name: 'pipeline.steps',
      maxAbsError: Infinity,
      tolerance: 0,
      note: `${steps.length} steps ran, the reference has ${run.timesteps.length}`,
    });
  }
  for (const record of steps) {
    const prefix = `pipeline.step_${record.step}`;
    const step = 'pipeline.step_*.noise_pred / latents_*';
    await compare(`${prefix}.latents_in`, record.latentsIn, step);
    await compare(`${prefix}.noise_pred`, record.velocity, step);
    await compare(`${prefix}.latents_out`, record.latentsOut, step);
  }
  await compare('pipeline.final_latents', finalLatents, 'pipeline.final_latents');
  if (geometry !== undefined) {
    await compare(
      'pipeline.video_float',
      floatVideo(reference, geometry, videoBatches),
      'pipeline.video_float',
    );
  }
  const frameComparison = frameResult(
    'pipeline.video_uint8',
    joinFrames(frames),
    await reference.uint8('pipeline.video_uint8'),
    frameCriterion(target),
  );
  const calls = `${videoBatches.length} decoder call${videoBatches.length === 1 ? '' : 's'}`;
  results.push({ ...frameComparison, note: `${calls}; ${frameComparison.note ?? ''}` });
  if (noise.remaining !== 0) {
    results.push({
      name: 'pipeline.noise draws',
      maxAbsError: Infinity,
      tolerance: 0,
      note: `${noise.remaining} recorded draw(s) never asked for`,
    });
  }
  return { results, calls: videoBatches.length };
}

/**
 * The decoder's float video `[1, 3, F, H, W]` in the reference's shape: the generated size (the
 * pipeline's output before inference.py crops), or the requested one.
 */
function floatVideo(
  reference: Reference,
  geometry: VideoGeometry,
  batches: readonly { start: number; count: number; video: Float32Array | undefined }[],
): Float32Array | undefined {
  const { width, height } = geometry.generated;
  const count = batches.reduce((sum, batch) => sum + batch.count, 0);
  const plane = width * height;
  const out = new Float32Array(3 * count * plane);
  for (const batch of batches) {
    if (batch.video === undefined) return undefined;
    for (let c = 0; c < 3; c++) {
      out.set(
        batch.video.subarray(c * batch.count * plane, (c + 1) * batch.count * plane),
        (c * count + batch.start) * plane,
      );
    }
  }
  const [, , frames = count, expectedHeight = height, expectedWidth = width] =
    reference.shape('pipeline.video_float');
  const sized =
    expectedHeight === height && expectedWidth === width
      ? out
      : cropFloatVideo(geometry, out, count);
  if (frames === count) return sized;
  // Fewer frames in the reference: the requested count, cut from the end.
  const framePlane = sized.length / (3 * count);
  const cut = new Float32Array(3 * frames * framePlane);
  for (let c = 0; c < 3; c++) {
    cut.set(
      sized.subarray(c * count * framePlane, (c * count + frames) * framePlane),
      c * frames * framePlane,
    );
  }
  return cut;
}

function joinFrames(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

function configNumber(reference: Reference, key: string, fallback: number): number {
  const value = reference.manifest.run.pipeline_config[key];
  return typeof value === 'number' ? value : fallback;
}
