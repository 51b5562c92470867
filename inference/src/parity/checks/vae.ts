/**
 * VAE decoder parity, converted in the run's precision from the reference's checkpoint and run
 * on its device:
 * - `vae_decode.*`: the decoder on `vae_decode.latents` (already mixed with decode noise, so
 *   the graph's noise scale is 0), its output and every intermediate the reference exposes;
 * - `pipeline.*`: the pipeline's decode from `pipeline.final_latents` + `pipeline.noise.decode`
 *   with the run's decode settings (noise mixing and un-normalisation inside the graph), the
 *   float video and the 8-bit frames, decoded whole;
 * - the same frames streamed in temporal chunks, when the reference video is long enough to
 *   split; and always, streaming against the one-pass decode on the same device, on
 *   STREAM_FRAMES latent frames of Gaussian latents (long enough to split whatever the
 *   reference's length): the stream is exact by construction (vae-stream.ts), so the two must
 *   agree to the float rounding of the run's precision;
 * - the same frames decoded as spatial tiles (streamed too), when a latent frame is more than
 *   two cells high or wide: tiles lack their neighbours' context near their edges, so they are
 *   compared with the reference by PSNR, against a floor (TILED_MIN_PSNR).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVaeDecoderOnnx } from '@zeus/models';
import type { LatentVideo } from '../../ltx/vae-decode-io.ts';
import { LTX_DECODE_NOISE_SCALE, LTX_DECODE_TIMESTEP, VaeDecoder } from '../../ltx/vae-decoder.ts';
import { planAxis, type VaeTiling } from '../../ltx/vae-tiles.ts';
import { gaussian } from '../../sampler/noise.ts';
import { frameResult, maxAbsDiff, psnr } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { frameCriterion, streamTolerance, tolerance } from '../tolerances.ts';
import { graphDtype, type ParityCheck, type ParityResult, type ParityTarget } from '../types.ts';

/** The smallest tiles (2 latent cells, sharing 1): the most seams a frame can have. */
export const PARITY_TILING: VaeTiling = { cells: 2, overlap: 1 };

/**
 * PSNR (dB) of tiled frames against the reference's whole frames that the tile path must reach
 * with PARITY_TILING. Tiles are not meant to equal whole frames: on the golden set (2 × 3 cells,
 * so two tiles sharing a column) the CPU gets 20.8 dB in fp32 and fp16, WebGPU the same. A
 * tile decoded wrong, placed wrong or weighted wrong falls well below; the precision of the
 * decoder itself is what the whole-frame rows bound.
 */
export const TILED_MIN_PSNR = 20;

/** Latent frames of the streamed-against-one-pass row: enough for 1-frame chunks to split. */
const STREAM_FRAMES = 8;

export const vaeCheck: ParityCheck = {
  component: 'vae',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-vae-'));
    try {
      await buildVaeDecoderOnnx(reference.checkpointPath, dir, {
        dtype: graphDtype(target.precision),
        floatOutputs: true,
        debugOutputs: true,
      });
      const decoder = await VaeDecoder.load(dir, { device: target.device });
      try {
        return [
          ...(await decoderResults(reference, decoder, target)),
          ...(await pipelineResults(reference, decoder, target)),
          await streamResult(reference, decoder, target),
        ];
      } finally {
        await decoder.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

async function decoderResults(
  reference: Reference,
  decoder: VaeDecoder,
  target: ParityTarget,
): Promise<ParityResult[]> {
  const latents = await latentVideo(reference, 'vae_decode.latents');
  const outputs = await decoder.decodeOutputs(latents, zerosLike(latents), {
    noiseScale: 0,
    timestep: await decodeTimestep(reference),
  });
  const results: ParityResult[] = [];
  const compare = async (name: string, ours: string): Promise<void> => {
    if (!reference.has(name)) return;
    const expected = await reference.float32(name);
    results.push(
      floatResult(
        name,
        outputs[ours],
        expected,
        tolerance(reference, target, 'vae_decode.*', expected),
      ),
    );
  };
  await compare('vae_decode.output', 'decoded');
  for (const name of reference.manifest.tensors.map((tensor) => tensor.name)) {
    if (name.startsWith('vae_decode.debug.')) {
      await compare(name, `debug.${name.slice('vae_decode.debug.'.length)}`);
    }
  }
  return results;
}

async function pipelineResults(
  reference: Reference,
  decoder: VaeDecoder,
  target: ParityTarget,
): Promise<ParityResult[]> {
  const latents = await latentVideo(reference, 'pipeline.final_latents');
  const noise = await latentVideo(reference, 'pipeline.noise.decode');
  const settings = {
    noiseScale: await decodeNoiseScale(reference),
    timestep: await decodeTimestep(reference),
  };
  const outputs = await decoder.decodeOutputs(latents, noise, settings);
  const results: ParityResult[] = [];
  if (reference.has('vae_decode.latents_unnormalized')) {
    const expected = await reference.float32('vae_decode.latents_unnormalized');
    results.push(
      floatResult(
        'vae_decode.latents_unnormalized',
        outputs['debug.latents_unnormalized'],
        expected,
        tolerance(reference, target, 'vae_decode.*', expected),
      ),
    );
  }
  const criterion = frameCriterion(target);
  const expectedVideo = await reference.float32('pipeline.video_float');
  const videoTolerance = tolerance(reference, target, 'pipeline.video_float', expectedVideo);
  const expectedFrames = await reference.uint8('pipeline.video_uint8');
  const decoded = await decoder.decode(latents, noise, settings);
  results.push(floatResult('pipeline.video_float', decoded.video, expectedVideo, videoTolerance));
  results.push(frameResult('pipeline.video_uint8', decoded.frames, expectedFrames, criterion));

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
    const frames = frameResult(
      'pipeline.video_uint8 (chunked)',
      streamed.frames,
      expectedFrames,
      criterion,
    );
    results.push({ ...frames, note: `${note}; ${frames.note ?? ''}` });
  }

  const [, , , rows = 0, columns = 0] = latents.shape;
  const tiles = planAxis(rows, PARITY_TILING).length * planAxis(columns, PARITY_TILING).length;
  if (tiles > 1) {
    const tiled = await decoder.decode(latents, noise, { ...chunked, tiling: PARITY_TILING });
    const quality =
      tiled.frames.length === expectedFrames.length ? psnr(tiled.frames, expectedFrames) : 0;
    results.push({
      name: 'pipeline.video_uint8 (tiled)',
      maxAbsError: quality,
      tolerance: TILED_MIN_PSNR,
      passed: quality >= TILED_MIN_PSNR,
      note:
        `PSNR in dB against the whole frames, at least ${TILED_MIN_PSNR} to pass: ${tiles} ` +
        `tiles of ${PARITY_TILING.cells} cells sharing ${PARITY_TILING.overlap}, ${calls} chunks`,
    });
  }
  return results;
}

/** Streaming in 1-frame chunks against one pass, both on the run's device, longer latents. */
async function streamResult(
  reference: Reference,
  decoder: VaeDecoder,
  target: ParityTarget,
): Promise<ParityResult> {
  const [batch = 1, channels = 0, , height = 0, width = 0] =
    reference.shape('pipeline.final_latents');
  const shape = [batch, channels, STREAM_FRAMES, height, width];
  const count = shape.reduce((product, dim) => product * dim, 1);
  const latents = { data: gaussian(7, 0, 0, count), shape };
  const noise = { data: gaussian(7, 1, 0, count), shape };
  const settings = { timestep: await decodeTimestep(reference), noiseScale: 0.025 };
  const onePass = await decoder.decode(latents, noise, settings);
  const chunked = { ...settings, chunkFrames: 1 };
  const calls = decoder.plan(STREAM_FRAMES, chunked).length;
  const streamed = await decoder.decode(latents, noise, chunked);
  const frames = frameResult('', streamed.frames, onePass.frames, frameCriterion(target));
  const expected = onePass.decoded ?? new Float32Array();
  const result = floatResult(
    `vae.streamed (${STREAM_FRAMES} latent frames, vs one pass)`,
    streamed.decoded,
    expected,
    streamTolerance(target, expected),
  );
  return {
    ...result,
    passed: (result.maxAbsError <= result.tolerance && frames.passed) === true,
    note: `${calls} calls, Gaussian latents; 8-bit: ${frames.note ?? ''}`,
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
