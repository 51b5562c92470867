/**
 * VAE decoder parity, converted in fp32 from the reference's checkpoint:
 * - `vae_decode.*`: the decoder on `vae_decode.latents` (already mixed with decode noise, so
 *   the graph's noise scale is 0), its output and every intermediate the reference exposes;
 * - `pipeline.*`: the pipeline's decode from `pipeline.final_latents` + `pipeline.noise.decode`
 *   with the run's decode settings (noise mixing and un-normalisation inside the graph), the
 *   float video and the 8-bit frames (within one level, ≥ 99 % of pixels exact);
 * - the same frames decoded in temporal chunks, when the reference video is long enough to
 *   split;
 * - for information, the video decoded with fp16 weights.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVaeDecoderOnnx } from '@zeus/models';
import {
  LTX_DECODE_NOISE_SCALE,
  LTX_DECODE_TIMESTEP,
  VaeDecoder,
  type LatentVideo,
} from '../../ltx/vae-decoder.ts';
import { frameResult, maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import type { ParityCheck, ParityResult } from '../types.ts';

export const vaeCheck: ParityCheck = {
  component: 'vae',
  async run(reference: Reference): Promise<ParityResult[]> {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-vae-'));
    try {
      await buildVaeDecoderOnnx(reference.checkpointPath, dir, {
        dtype: 'float32',
        floatOutputs: true,
        debugOutputs: true,
      });
      const decoder = await VaeDecoder.load(dir, { device: 'cpu' });
      const results: ParityResult[] = [];
      try {
        results.push(...(await decoderResults(reference, decoder)));
        results.push(...(await pipelineResults(reference, decoder)));
      } finally {
        await decoder.release();
      }
      const fp16Dir = join(dir, 'fp16');
      await mkdir(fp16Dir);
      await buildVaeDecoderOnnx(reference.checkpointPath, fp16Dir, {
        dtype: 'float16',
        floatOutputs: true,
      });
      const fp16 = await VaeDecoder.load(fp16Dir, { device: 'cpu' });
      try {
        results.push(await fp16Result(reference, fp16));
      } finally {
        await fp16.release();
      }
      return results;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

async function decoderResults(reference: Reference, decoder: VaeDecoder): Promise<ParityResult[]> {
  const tolerance = reference.tolerance('vae_decode.*', 1e-3);
  const latents = await latentVideo(reference, 'vae_decode.latents');
  const outputs = await decoder.decodeOutputs(latents, zerosLike(latents), {
    noiseScale: 0,
    timestep: await decodeTimestep(reference),
  });
  const results: ParityResult[] = [];
  const compare = async (name: string, ours: string): Promise<void> => {
    if (!reference.has(name)) return;
    results.push(floatResult(name, outputs[ours], await reference.float32(name), tolerance));
  };
  await compare('vae_decode.output', 'decoded');
  for (const name of reference.manifest.tensors.map((tensor) => tensor.name)) {
    if (name.startsWith('vae_decode.debug.')) {
      await compare(name, `debug.${name.slice('vae_decode.debug.'.length)}`);
    }
  }
  return results;
}

async function pipelineResults(reference: Reference, decoder: VaeDecoder): Promise<ParityResult[]> {
  const latents = await latentVideo(reference, 'pipeline.final_latents');
  const noise = await latentVideo(reference, 'pipeline.noise.decode');
  const settings = {
    noiseScale: await decodeNoiseScale(reference),
    timestep: await decodeTimestep(reference),
  };
  const outputs = await decoder.decodeOutputs(latents, noise, settings);
  const results: ParityResult[] = [];
  if (reference.has('vae_decode.latents_unnormalized')) {
    results.push(
      floatResult(
        'vae_decode.latents_unnormalized',
        outputs['debug.latents_unnormalized'],
        await reference.float32('vae_decode.latents_unnormalized'),
        reference.tolerance('vae_decode.*', 1e-3),
      ),
    );
  }
  const videoTolerance = reference.tolerance('pipeline.video_float', 2e-3);
  const expectedVideo = await reference.float32('pipeline.video_float');
  const expectedFrames = await reference.uint8('pipeline.video_uint8');
  const decoded = await decoder.decode(latents, noise, settings);
  results.push(floatResult('pipeline.video_float', decoded.video, expectedVideo, videoTolerance));
  results.push(frameResult('pipeline.video_uint8', decoded.frames, expectedFrames));

  // The smallest chunks split the decode the most; too short a video decodes in one call.
  const chunked = { ...settings, chunkFrames: 1 };
  const calls = decoder.plan(latents.shape[2] ?? 0, chunked).length;
  if (calls > 1) {
    const streamed = await decoder.decode(latents, noise, chunked);
    const note = `${calls} chunks`;
    results.push({
      ...floatResult(
        'pipeline.video_float (chunked)',
        streamed.video,
        expectedVideo,
        videoTolerance,
      ),
      note,
    });
    const frames = frameResult('pipeline.video_uint8 (chunked)', streamed.frames, expectedFrames);
    results.push({ ...frames, note: `${note}; ${frames.note ?? ''}` });
  }
  return results;
}

/** The pipeline's video from fp16 weights: informative, the manifest sets no tolerance. */
async function fp16Result(reference: Reference, decoder: VaeDecoder): Promise<ParityResult> {
  const video = await decoder.decode(
    await latentVideo(reference, 'pipeline.final_latents'),
    await latentVideo(reference, 'pipeline.noise.decode'),
    { noiseScale: await decodeNoiseScale(reference), timestep: await decodeTimestep(reference) },
  );
  const frames = frameResult(
    'pipeline.video_uint8 (fp16)',
    video.frames,
    await reference.uint8('pipeline.video_uint8'),
  );
  return {
    ...floatResult(
      'pipeline.video_float (fp16)',
      video.video,
      await reference.float32('pipeline.video_float'),
      Infinity,
    ),
    note: `fp16 weights and convolutions, informative only; 8-bit: ${frames.note ?? ''}, max ${frames.maxAbsError}`,
  };
}

function floatResult(
  name: string,
  actual: Float32Array | undefined,
  expected: Float32Array,
  tolerance: number,
): ParityResult {
  if (actual === undefined) {
    return { name, maxAbsError: Infinity, tolerance, note: 'not produced' };
  }
  return { name, maxAbsError: maxAbsDiff(actual, expected), tolerance };
}

async function latentVideo(reference: Reference, name: string): Promise<LatentVideo> {
  return { data: await reference.float32(name), shape: reference.shape(name) };
}

function zerosLike(latents: LatentVideo): LatentVideo {
  return { data: new Float32Array(latents.data.length), shape: latents.shape };
}

/** The run's decode timestep: the recorded tensor, else the pipeline config, else 0.05. */
async function decodeTimestep(reference: Reference): Promise<number> {
  return recordedScalar(reference, 'vae_decode.timestep', 'decode_timestep', LTX_DECODE_TIMESTEP);
}

async function decodeNoiseScale(reference: Reference): Promise<number> {
  return recordedScalar(
    reference,
    'vae_decode.decode_noise_scale',
    'decode_noise_scale',
    LTX_DECODE_NOISE_SCALE,
  );
}

async function recordedScalar(
  reference: Reference,
  tensorName: string,
  configKey: string,
  fallback: number,
): Promise<number> {
  if (reference.has(tensorName)) {
    const [value] = await reference.float32(tensorName);
    if (value !== undefined) return value;
  }
  const configured = reference.manifest.run.pipeline_config[configKey];
  return typeof configured === 'number' ? configured : fallback;
}
