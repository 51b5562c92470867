/**
 * One generation with the loaded LTX models (pipeline.ts, steps 1 to 5): the prompt encoded, the
 * first frame encoded when given, the latents denoised with live previews, then decoded in
 * chunks whose frames are cropped and handed to the frame sink as they come.
 */
import { JobFailure, type GenerationSettings } from '@zeus/core';
import { PromptTooLongError } from '@zeus/models';
import type { PlanarImage } from '../image/first-frame.ts';
import { hostTraffic } from '../onnx/runtime.ts';
import type { SamplerHelper } from '../pipeline/thread/sampler-helper.ts';
import type { PipelineProgress, StepStats } from '../pipeline/types.ts';
import {
  denoise,
  firstFrameMask,
  firstFrameTokens,
  fractionalCoordinates,
  latentShapeOf,
  LTX_CONDITIONING_STRENGTH,
  LTX_IMAGE_COND_NOISE_SCALE,
  noiseDraws,
  SeededNoise,
  tokenCount,
  unpackLatents,
  type FirstFrameConditioning,
  type LatentShape,
} from '../sampler/index.ts';
import { cropFrame, videoGeometry, type VideoGeometry } from './geometry.ts';
import type { LoadedModels } from './model-loading.ts';
import type { LtxGenerationHooks, LtxPipelineOptions } from './pipeline-types.ts';
import type { LatentPreview } from './preview.ts';
import type { PromptEmbeddings, T5TextEncoder } from './text-encoder.ts';
import type { TransformerConditioning } from './transformer.ts';
import { LTX_DECODE_NOISE_SCALE, LTX_DECODE_TIMESTEP } from './vae-decoder.ts';

/** What one generation runs with: the loaded models and the pipeline's settings. */
export interface GenerationContext {
  readonly loaded: LoadedModels;
  /** Draws and previews off this thread while the transformer runs. */
  readonly helper: SamplerHelper;
  readonly options: LtxPipelineOptions;
  readonly totalSteps: number;
  /** Video frames per decoder call; undefined decodes in one pass. */
  readonly chunkFrames: number | undefined;
}

/** One video: prompt → embeddings → denoised latents → frames, handed to `hooks.frames`. */
export async function generateVideo(
  context: GenerationContext,
  settings: GenerationSettings,
  hooks: LtxGenerationHooks,
): Promise<void> {
  const { loaded, helper, options, totalSteps } = context;
  const { signal, trace } = hooks;
  const progress = (stage: PipelineProgress['stage'], step: number): void => {
    hooks.onProgress({ stage, step, totalSteps });
  };
  const noise =
    hooks.noise ??
    new SeededNoise(settings.seed, (seed, stream, start, count) =>
      helper.gaussian(seed, stream, start, count),
    );
  const { scale, latentChannels } = loaded.info;
  const trafficAtStart = hostTraffic();

  progress('ENCODING_PROMPT', 0);
  signal.throwIfAborted();
  let prompt: PromptEmbeddings;
  try {
    prompt =
      hooks.promptTokens === undefined
        ? await loaded.textEncoder.encode(settings.prompt)
        : await encodeTokens(loaded.textEncoder, hooks.promptTokens);
  } catch (error) {
    if (error instanceof PromptTooLongError) {
      throw new JobFailure('INVALID_JOB', error.message, error);
    }
    throw error;
  }
  trace?.prompt?.(prompt);

  const geometry = videoGeometry(settings, scale);
  const shape: LatentShape = latentShapeOf(geometry.generated, {
    channels: latentChannels,
    scale,
  });
  const tokenShape = [shape.batch, tokenCount(shape), shape.channels];

  // Image-to-video: the initial latents are drawn first, then the image is encoded (its
  // posterior draw follows), as the official prepare_latents / prepare_conditioning do.
  let initialLatents: Float32Array | undefined;
  let firstFrame: FirstFrameConditioning | undefined;
  if (hooks.firstFrame !== undefined) {
    initialLatents = noise.draw(noiseDraws.initial(tokenShape));
    const image = padFirstFrame(hooks.firstFrame, geometry);
    const videoShape = [1, 3, 1, image.height, image.width];
    const latentShape = loaded.encoder.latentShape(videoShape);
    const encoded = await loaded.encoder.encode(
      { data: image.data, shape: videoShape },
      noise.draw(noiseDraws.encode(latentShape)),
    );
    trace?.firstFrameLatents?.(encoded.latents, encoded.shape);
    signal.throwIfAborted();
    firstFrame = {
      mask: firstFrameMask(shape, LTX_CONDITIONING_STRENGTH),
      latents: firstFrameTokens(encoded.latents, shape),
      channels: shape.channels,
      noiseScale: options.imageConditionNoiseScale ?? LTX_IMAGE_COND_NOISE_SCALE,
    };
  }
  const conditioning = loaded.transformer.condition({
    textEmbeddings: prompt.embeddings,
    textMask: prompt.attentionMask,
    textTokens: prompt.attentionMask.length,
    grid: fractionalCoordinates(shape, settings.frameRate, {
      scale,
      causalTemporalPositioning: loaded.config.transformer.causalTemporalPositioning,
    }),
    ...(firstFrame === undefined
      ? {}
      : { conditionedTokens: Uint8Array.from(firstFrame.mask, (value) => (value > 0 ? 1 : 0)) }),
  });

  progress('DENOISING', 0);
  const velocities: Float32Array[] = [];
  const inputs: Float32Array[] = [];
  const transformer = loaded.transformer;
  const projection = loaded.preview;
  const onPreview = projection === undefined ? undefined : hooks.onPreview;
  // A step's preview is projected on the helper thread while the next step runs, and handed
  // on in step order; all are handed on before decoding starts.
  let preview: Promise<LatentPreview> | undefined;
  let previewsHandedOn: Promise<void> = Promise.resolve();
  const steps: StepStats[] = [];
  let stepStarted = performance.now();
  let trafficAtStep = hostTraffic();
  const tokens = await denoise<TransformerConditioning>({
    model: {
      velocity: async (condition, latents, timestep, conditionedTimestep) => {
        const velocity = await transformer.velocity(
          condition,
          latents,
          timestep,
          conditionedTimestep,
        );
        if (trace?.step !== undefined) {
          inputs.push(latents);
          velocities.push(velocity);
        }
        if (onPreview !== undefined && projection !== undefined) {
          preview = helper.preview(projection, shape, latents, velocity, timestep, 0);
          preview.catch(() => undefined); // handed on (and its failure seen) in onStep
        }
        return velocity;
      },
    },
    conditioning,
    shape,
    timesteps: loaded.timesteps,
    noise,
    signal,
    ...(initialLatents === undefined ? {} : { initialLatents }),
    ...(firstFrame === undefined ? {} : { firstFrame }),
    onStep: (step, _steps, latents) => {
      const now = performance.now();
      const traffic = hostTraffic();
      const wallMs = now - stepStarted;
      const runMs = traffic.runMs - trafficAtStep.runMs;
      steps.push({
        wallMs,
        runMs,
        jsMs: wallMs - runMs,
        toRuntimeBytes: traffic.toRuntimeBytes - trafficAtStep.toRuntimeBytes,
        fromRuntimeBytes: traffic.fromRuntimeBytes - trafficAtStep.fromRuntimeBytes,
      });
      trace?.step?.({
        step,
        timestep: loaded.timesteps[step] ?? Number.NaN,
        latentsIn: inputs[step] ?? new Float32Array(),
        velocity: velocities[step] ?? new Float32Array(),
        latentsOut: latents,
      });
      progress('DENOISING', step + 1);
      if (onPreview !== undefined && preview !== undefined) {
        const projected = preview;
        preview = undefined;
        previewsHandedOn = previewsHandedOn.then(async () => {
          onPreview({ ...(await projected), step: step + 1 });
        });
        previewsHandedOn.catch(() => undefined); // awaited after the loop
      }
      stepStarted = performance.now();
      trafficAtStep = hostTraffic();
    },
  });
  await previewsHandedOn;
  signal.throwIfAborted();

  const dims = [shape.batch, shape.channels, shape.frames, shape.height, shape.width];
  const latents = unpackLatents(tokens, shape);
  trace?.finalLatents?.(latents, dims);
  const decodeNoise = noise.draw(noiseDraws.decode(dims));

  progress('DECODING', totalSteps);
  const chunkFrames = context.chunkFrames;
  let written = 0;
  const batches = loaded.decoder.decodeFrames(
    { data: latents, shape: dims },
    { data: decodeNoise, shape: dims },
    {
      timestep: options.decodeTimestep ?? LTX_DECODE_TIMESTEP,
      noiseScale: options.decodeNoiseScale ?? LTX_DECODE_NOISE_SCALE,
      ...(chunkFrames === undefined ? {} : { chunkFrames }),
      ...(options.decodeTiling === undefined ? {} : { tiling: options.decodeTiling }),
    },
  );
  for await (const batch of batches) {
    signal.throwIfAborted();
    trace?.decoded?.(batch, geometry);
    const frameBytes = batch.height * batch.width * 3;
    // Frames past the requested count are cut from the end (inference.py keeps the first).
    for (let i = 0; i < batch.count && written < settings.numFrames; i++) {
      const frame = batch.frames.subarray(i * frameBytes, (i + 1) * frameBytes);
      await hooks.frames.write(cropFrame(geometry, frame));
      written++;
    }
  }
  if (written !== settings.numFrames) {
    throw new Error(`The decoder gave ${written} frames; ${settings.numFrames} were asked for`);
  }
  const traffic = hostTraffic();
  hooks.onStats?.({
    steps,
    toRuntimeBytes: traffic.toRuntimeBytes - trafficAtStart.toRuntimeBytes,
    fromRuntimeBytes: traffic.fromRuntimeBytes - trafficAtStart.fromRuntimeBytes,
    runs: traffic.runs - trafficAtStart.runs,
    runMs: traffic.runMs - trafficAtStart.runMs,
  });
}

/**
 * The prepared first frame at the generated size: inference.py pads the requested-size image
 * with zeros where the generated video is larger (sizes Zeus accepts need none).
 */
function padFirstFrame(image: PlanarImage, geometry: VideoGeometry): PlanarImage {
  const { requested, generated, top, left } = geometry;
  if (image.width !== requested.width || image.height !== requested.height) {
    throw new JobFailure(
      'INVALID_JOB',
      `The first-frame image was prepared at ${image.width}×${image.height}, not the video's ` +
        `${requested.width}×${requested.height}.`,
    );
  }
  if (generated.width === image.width && generated.height === image.height) return image;
  const data = new Float32Array(3 * generated.width * generated.height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < image.height; y++) {
      const from = (c * image.height + y) * image.width;
      data.set(
        image.data.subarray(from, from + image.width),
        (c * generated.height + top + y) * generated.width + left,
      );
    }
  }
  return { data, width: generated.width, height: generated.height };
}

async function encodeTokens(
  encoder: T5TextEncoder,
  tokens: NonNullable<LtxGenerationHooks['promptTokens']>,
): Promise<PromptEmbeddings> {
  const { embeddings, shape } = await encoder.encodeIds(tokens.inputIds, tokens.attentionMask);
  let count = 0;
  for (const value of tokens.attentionMask) if (value !== 0n) count++;
  return { ...tokens, embeddings, shape, tokenCount: count };
}
