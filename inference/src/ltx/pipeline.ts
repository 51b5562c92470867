/**
 * LTX-Video 0.9.6-distilled text-to-video, as the official pipeline computes it
 * (docs/model/pipeline.md §2–§8), from a single-file checkpoint and a T5 folder:
 *
 *   1. prompt → T5 tokens (256, EOS included; longer prompts are refused, never cut)
 *   2. tokens → T5 embeddings (a repeated prompt reuses its embeddings)
 *   3. initial noise → 8 stochastic rectified-flow steps of the transformer; with a first-frame
 *      image (image-to-video), the image encoded by the VAE encoder conditions the first latent
 *      frame as the official pipeline does (sampler/conditioning.ts); after each step, a live
 *      preview of the model's estimate when asked for (preview.ts)
 *   4. latents + decode noise → VAE decoder (decode timestep 0.05, noise scale 0.025), streamed
 *      in temporal chunks, 8-bit frames made inside the graph
 *   5. centre-crop to the requested size, first `numFrames` frames → the frame sink, as each
 *      chunk is decoded (so the MP4 encoder works while the rest decodes)
 *
 * Every size comes from the files (layers, widths, channels, the VAE's scale factors, the
 * scheduler), so the same code runs the real model and the tiny ones. Random draws come from
 * `SeededNoise(seed)` unless the caller injects a source (`ReplayNoise` for parity runs), and
 * `trace` exposes the intermediate tensors a parity check compares.
 *
 * ONNX Runtime runs synchronously on the calling thread: the worker hosts this class in a
 * worker thread (pipeline/thread/), never on its event loop.
 */
import { freemem } from 'node:os';
import { JobFailure, type GenerationSettings } from '@zeus/core';
import {
  convertVaeDecoder,
  convertVaeEncoder,
  elementCount,
  LtxCheckpoint,
  parseVaeConfig,
  PromptTooLongError,
  SafetensorsFile,
  T5_MAX_TOKENS,
  T5Weights,
  TRANSFORMER_PREFIX,
  VAE_PREFIX,
  type AttentionKernel,
  type ConversionEvent,
  type LtxCheckpointConfig,
  type VaeConfig,
} from '@zeus/models';
import {
  attentionKernelFor,
  chooseProvider,
  hostTraffic,
  probeProvider,
  type Device,
  type ExecutionProvider,
} from '../onnx/runtime.ts';
import { SamplerHelper } from '../pipeline/thread/sampler-helper.ts';
import type {
  GenerationHooks,
  PipelineProgress,
  StepStats,
  VideoPipeline,
} from '../pipeline/types.ts';
import type { PlanarImage } from '../image/first-frame.ts';
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
  samplingTimesteps,
  tokenCount,
  unpackLatents,
  type FirstFrameConditioning,
  type LatentShape,
  type NoiseSource,
  type VaeScaleFactors,
} from '../sampler/index.ts';
import { queryGpuMemory } from '../system/gpu-memory.ts';
import { cropFrame, videoGeometry, type VideoGeometry } from './geometry.ts';
import type { LatentPreview, PreviewProjection } from './preview.ts';
import { cachedPreviewProjection } from './preview-fit.ts';
import { T5TextEncoder, type PromptEmbeddings } from './text-encoder.ts';
import {
  decideTextEncoderPlacement,
  estimateActivationBytes,
  type GpuMemory,
  type PlacementDecision,
  type TextEncoderSetting,
} from './text-encoder-placement.ts';
import { LtxTransformer, type TransformerConditioning } from './transformer.ts';
import {
  LTX_DECODE_NOISE_SCALE,
  LTX_DECODE_TIMESTEP,
  VaeDecoder,
  type FrameBatch,
} from './vae-decoder.ts';
import { VaeEncoder } from './vae-encoder.ts';
import type { VaeTiling } from './vae-tiles.ts';
import type { Precision } from '../runtime-options.ts';

/** num_inference_steps of configs/ltxv-2b-0.9.6-distilled.yaml. */
export const LTX_DISTILLED_STEPS = 8;
/** Video frames per VAE decoder call: small enough to start encoding early and bound memory. */
export const DEFAULT_DECODE_CHUNK_FRAMES = 8;

export { PRECISIONS, type Precision } from '../runtime-options.ts';

/** The model's files (see @zeus/models' ModelFiles). */
export interface LtxPipelineFiles {
  /** The single-file checkpoint: transformer, VAE, configs. */
  readonly checkpoint: string;
  /** Hugging Face T5 encoder folder (config.json and safetensors weights). */
  readonly textEncoderDir: string;
  /** Hugging Face T5 tokenizer folder (spiece.model …). */
  readonly tokenizerDir: string;
  /** The conversion cache: converted ONNX graphs are written here once and reused. */
  readonly onnxDir: string;
}

/** What loading is doing, for the worker's heartbeat and log. */
export interface ModelLoadProgress {
  readonly component:
    'transformer' | 'VAE decoder' | 'VAE encoder' | 'text encoder' | 'live-preview projection';
  /** checking: hashing the source files for the conversion cache; converting: writing ONNX. */
  readonly phase: 'checking' | 'converting' | 'loading';
  /** 0 to 1 within the phase, when known. */
  readonly fraction?: number;
  /** What the converter reports in words (e.g. weights it kept in float32). */
  readonly notice?: string;
}

export interface LtxPipelineOptions {
  /** The model's name, as in `ZEUS_MODEL`. */
  readonly name: string;
  readonly files: LtxPipelineFiles;
  readonly device: Device;
  /** Weight precision. Default: fp16 on GPU providers, fp32 on the CPU (fp16 gains nothing there). */
  readonly precision?: Precision;
  /** Where the text encoder lives (see text-encoder-placement.ts). Default 'auto'. */
  readonly textEncoder?: TextEncoderSetting;
  /** Denoising steps. Default 8, the distilled model's. */
  readonly steps?: number;
  /** Default 0.05 (the pipeline's decode_timestep). */
  readonly decodeTimestep?: number;
  /** Default 0.025 (the pipeline's decode_noise_scale). */
  readonly decodeNoiseScale?: number;
  /** The text encoder's context, EOS included. Default 256. */
  readonly maxPromptTokens?: number;
  /** Video frames per decoder call; null decodes in one pass. Default 8. */
  readonly decodeChunkFrames?: number | null;
  /** Decode frames larger than a tile as blended spatial tiles (vae-tiles.ts). Default: none. */
  readonly decodeTiling?: VaeTiling;
  /** Noise added to an image-conditioned first frame before each step. Default 0.15 (inference.py). */
  readonly imageConditionNoiseScale?: number;
  /**
   * Live previews (default true): false skips fitting their projection at load (parity runs,
   * which never ask for previews) and a generation then gives none.
   */
  readonly previews?: boolean;
  /** Build the decoder with float outputs (`trace.decoded` then has the float video). */
  readonly floatOutputs?: boolean;
  /** Threads per session on the CPU provider (default: ONNX Runtime's choice). */
  readonly intraOpThreads?: number;
  readonly onLoadProgress?: (progress: ModelLoadProgress) => void;
  /** The GPU's memory, for `textEncoder: 'auto'` (default: nvidia-smi). */
  readonly gpuMemory?: () => Promise<GpuMemory | undefined>;
}

/** One denoising step's tensors, tokens `[1, N, C]`. */
export interface StepRecord {
  readonly step: number;
  readonly timestep: number;
  readonly latentsIn: Float32Array;
  readonly velocity: Float32Array;
  readonly latentsOut: Float32Array;
}

/** Intermediate results, for parity checks and benchmarks. Called synchronously, in order. */
export interface PipelineTrace {
  prompt?(encoded: PromptEmbeddings): void;
  step?(record: StepRecord): void;
  /** Image-to-video: the first frame's latents `[1, C, 1, h, w]` as the encoder gave them. */
  firstFrameLatents?(latents: Float32Array, shape: readonly number[]): void;
  /** The sampler's result `[1, C, F, H, W]` (still normalised, before decode noise). */
  finalLatents?(latents: Float32Array, shape: readonly number[]): void;
  /** A decoder call's output at the generated size, before cropping. */
  decoded?(batch: FrameBatch, geometry: VideoGeometry): void;
}

export interface LtxGenerationHooks extends GenerationHooks {
  /** The random draws (default `SeededNoise(settings.seed)`). */
  readonly noise?: NoiseSource;
  /**
   * Token ids and mask to encode instead of tokenising `settings.prompt` (a reference run that
   * was given its ids directly).
   */
  readonly promptTokens?: {
    readonly inputIds: BigInt64Array;
    readonly attentionMask: BigInt64Array;
  };
  readonly trace?: PipelineTrace;
}

/** Where one model runs. */
export interface ModelPlacement {
  readonly component: ModelLoadProgress['component'];
  readonly provider: ExecutionProvider;
  readonly precision: Precision;
}

/** What `load` decided, for the log. */
export interface LtxPipelineInfo {
  readonly provider: ExecutionProvider;
  readonly precision: Precision;
  /** How the transformer's and the on-device text encoder's attention is written. */
  readonly attention: AttentionKernel;
  /**
   * Why a preferred choice was not taken, in words: a provider `auto` passed over (CUDA not
   * installed or not loading), fp16 refused by the device, the attention kernel replaced.
   */
  readonly notices: readonly string[];
  /** The provider each model runs on (the text encoder's may be the CPU, see `textEncoder`). */
  readonly models: readonly ModelPlacement[];
  readonly textEncoder: PlacementDecision;
  readonly transformerLayers: number;
  readonly transformerWidth: number;
  readonly latentChannels: number;
  readonly scale: VaeScaleFactors;
}

interface Loaded {
  readonly info: LtxPipelineInfo;
  readonly config: LtxCheckpointConfig;
  readonly vaeConfig: VaeConfig;
  readonly timesteps: Float32Array;
  readonly textEncoder: T5TextEncoder;
  readonly transformer: LtxTransformer;
  readonly decoder: VaeDecoder;
  readonly encoder: VaeEncoder;
  readonly preview: PreviewProjection | undefined;
}

export class PrecisionError extends Error {
  override readonly name = 'PrecisionError';
}

/**
 * The weight precision: the one asked for, else fp16 on GPU providers and fp32 on the CPU (fp16
 * gains nothing there). fp16 needs float16 kernels: a WebGPU adapter without the shader-f16
 * feature (SwiftShader's) loads fp16 models but fails at their first float16 kernel, so a GPU
 * provider is probed first; by default it then falls back to fp32 with a notice, and an
 * explicit fp16 is refused with the reason.
 */
async function choosePrecision(
  provider: ExecutionProvider,
  asked: Precision | undefined,
  notices: string[],
): Promise<Precision> {
  if (asked === 'fp32' || (asked === undefined && provider === 'cpu')) return 'fp32';
  if (provider === 'cpu') return 'fp16';
  const probe = await probeProvider(provider, { float16: true });
  if (probe.ok) return 'fp16';
  if (asked === 'fp16') {
    throw new PrecisionError(`fp16 cannot run on this ${provider} device: ${probe.reason}`);
  }
  notices.push(
    `fp32 instead of fp16: this ${provider} device cannot run float16 (${probe.reason})`,
  );
  return 'fp32';
}

/** The default job (768x512x121) the text encoder's placement is sized for. */
const PLACEMENT_JOB = { width: 768, height: 512, numFrames: 121 };

export class LtxPipeline implements VideoPipeline {
  readonly name: string;
  readonly totalSteps: number;
  private loaded: Loaded | undefined;
  /** Draws and previews off this thread while the transformer runs (started by `load`). */
  private helper: SamplerHelper | undefined;

  constructor(private readonly options: LtxPipelineOptions) {
    this.name = options.name;
    this.totalSteps = options.steps ?? LTX_DISTILLED_STEPS;
  }

  /** What `load` chose; undefined before. */
  get info(): LtxPipelineInfo | undefined {
    return this.loaded?.info;
  }

  /** Converts the models (once, into the cache) and loads them. */
  async load(): Promise<void> {
    if (this.loaded !== undefined) return;
    const { options } = this;
    const checkpoint = await LtxCheckpoint.open(options.files.checkpoint);
    let config: LtxCheckpointConfig;
    let transformerParameters: number;
    let decoderParameters: number;
    let encoderParameters: number;
    try {
      config = checkpoint.config;
      transformerParameters = sumElements(checkpoint.file, TRANSFORMER_PREFIX);
      decoderParameters = sumElements(checkpoint.file, `${VAE_PREFIX}decoder.`);
      encoderParameters = sumElements(checkpoint.file, `${VAE_PREFIX}encoder.`);
    } finally {
      await checkpoint.close();
    }
    const vaeConfig = parseVaeConfig(config.vae);
    const timesteps = samplingTimesteps(
      config.scheduler,
      this.totalSteps,
      config.allowedInferenceSteps,
    );
    const choice = await chooseProvider(options.device);
    const provider = choice.provider;
    const notices: string[] = choice.refused.map(
      (refused) =>
        `device auto runs on ${provider}: ${refused.provider} was refused: ${refused.reason}`,
    );
    const precision = await choosePrecision(provider, options.precision, notices);
    const bytesPerValue = precision === 'fp16' ? 2 : 4;
    const scale: VaeScaleFactors = {
      spatial: vaeConfig.spatialScaleFactor,
      temporal: vaeConfig.temporalScaleFactor,
    };
    const chunkFrames = this.chunkFrames() ?? PLACEMENT_JOB.numFrames;
    const placementJob = latentShapeOf(
      {
        width: Math.ceil(PLACEMENT_JOB.width / scale.spatial) * scale.spatial,
        height: Math.ceil(PLACEMENT_JOB.height / scale.spatial) * scale.spatial,
        frames: Math.ceil((PLACEMENT_JOB.numFrames - 1) / scale.temporal) * scale.temporal + 1,
      },
      { channels: vaeConfig.latentChannels, scale },
    );
    const textEncoder = decideTextEncoderPlacement(options.textEncoder ?? 'auto', {
      provider,
      gpuMemory: provider === 'cpu' ? undefined : await (options.gpuMemory ?? queryGpuMemory)(),
      hostFreeBytes: freemem(),
      textEncoderBytes: (await t5Parameters(options.files.textEncoderDir)) * bytesPerValue,
      transformerBytes: transformerParameters * bytesPerValue,
      vaeBytes: (decoderParameters + encoderParameters) * bytesPerValue,
      activationBytes: estimateActivationBytes({
        latentTokens: tokenCount(placementJob),
        width: config.transformer.innerDim,
        pixelsPerFrame: PLACEMENT_JOB.width * PLACEMENT_JOB.height,
        vaeBaseChannels: vaeConfig.decoderBaseChannels,
        chunkFrames,
        bytesPerValue,
      }),
    });

    const threads =
      options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads };
    const report = (component: ModelLoadProgress['component']) => (event: ConversionEvent) => {
      const progress = conversionProgress(component, event);
      if (progress !== undefined) options.onLoadProgress?.(progress);
    };
    const dtype = precision === 'fp16' ? 'float16' : 'float32';
    const attention = await attentionKernelFor(provider);
    if (attention.reason !== undefined) notices.push(attention.reason);
    for (const notice of notices) {
      options.onLoadProgress?.({ component: 'transformer', phase: 'loading', notice });
    }
    // One model at a time: the peak is the largest one, not all of them at once.
    const transformer = await LtxTransformer.fromCheckpoint({
      checkpointPath: options.files.checkpoint,
      cacheRoot: options.files.onnxDir,
      dtype,
      device: provider,
      attention: attention.kernel,
      ...threads,
      onProgress: report('transformer'),
    });
    const opened: { release(): Promise<void> }[] = [transformer];
    try {
      const vae = await convertVaeDecoder({
        checkpointPath: options.files.checkpoint,
        cacheRoot: options.files.onnxDir,
        dtype,
        floatOutputs: options.floatOutputs === true,
        onProgress: report('VAE decoder'),
      });
      options.onLoadProgress?.({ component: 'VAE decoder', phase: 'loading' });
      const decoder = await VaeDecoder.load(vae.dir, { device: provider, ...threads });
      opened.push(decoder);
      const encoderFiles = await convertVaeEncoder({
        checkpointPath: options.files.checkpoint,
        cacheRoot: options.files.onnxDir,
        dtype,
        onProgress: report('VAE encoder'),
      });
      options.onLoadProgress?.({ component: 'VAE encoder', phase: 'loading' });
      const encoder = await VaeEncoder.load(encoderFiles.dir, { device: provider, ...threads });
      opened.push(encoder);
      // Fitted once (with this encoder and decoder) and kept with the conversions.
      const preview =
        options.previews === false
          ? undefined
          : await cachedPreviewProjection({
              checkpointPath: options.files.checkpoint,
              cacheRoot: options.files.onnxDir,
              dtype,
              encoder,
              decoder,
              onProgress: report('live-preview projection'),
            });
      const onDevice = textEncoder.placement !== 'cpu';
      const t5 = await T5TextEncoder.load({
        textEncoderDir: options.files.textEncoderDir,
        tokenizerDir: options.files.tokenizerDir,
        cacheRoot: options.files.onnxDir,
        device: onDevice ? provider : 'cpu',
        dtype,
        attention: onDevice ? attention.kernel : 'fused',
        maxTokens: options.maxPromptTokens ?? T5_MAX_TOKENS,
        keepLoaded: textEncoder.placement !== 'on-demand',
        ...threads,
        onConversionProgress: report('text encoder'),
      });
      this.loaded = {
        info: {
          provider,
          precision,
          attention: attention.kernel,
          notices,
          models: [
            { component: 'transformer', provider: transformer.provider, precision },
            { component: 'VAE decoder', provider: decoder.provider, precision },
            { component: 'VAE encoder', provider: encoder.provider, precision },
            {
              component: 'text encoder',
              provider: onDevice ? provider : 'cpu',
              precision,
            },
          ],
          textEncoder,
          transformerLayers: config.transformer.numLayers,
          transformerWidth: config.transformer.innerDim,
          latentChannels: vaeConfig.latentChannels,
          scale,
        },
        config,
        vaeConfig,
        timesteps,
        textEncoder: t5,
        transformer,
        decoder,
        encoder,
        preview: preview?.projection,
      };
      // Started now so that its start-up (a thread, tsx in development) is not a job's.
      this.helper ??= new SamplerHelper();
    } catch (error) {
      await Promise.all(opened.map((model) => model.release()));
      throw error;
    }
  }

  /** Tokens a prompt takes, EOS included (throws before `load`). */
  countTokens(prompt: string): number {
    return this.require().textEncoder.countTokens(prompt);
  }

  generate(settings: GenerationSettings, hooks: LtxGenerationHooks): Promise<void> {
    return this.run(settings, hooks);
  }

  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    const helper = this.helper;
    this.helper = undefined;
    await helper?.close();
    if (loaded === undefined) return;
    await Promise.all([
      loaded.textEncoder.release(),
      loaded.transformer.release(),
      loaded.decoder.release(),
      loaded.encoder.release(),
    ]);
  }

  private require(): Loaded {
    if (this.loaded === undefined) throw new Error('The pipeline is not loaded.');
    return this.loaded;
  }

  private chunkFrames(): number | undefined {
    const chunk = this.options.decodeChunkFrames;
    return chunk === null ? undefined : (chunk ?? DEFAULT_DECODE_CHUNK_FRAMES);
  }

  private async run(settings: GenerationSettings, hooks: LtxGenerationHooks): Promise<void> {
    const loaded = this.require();
    const { signal, trace } = hooks;
    const totalSteps = this.totalSteps;
    const progress = (stage: PipelineProgress['stage'], step: number): void => {
      hooks.onProgress({ stage, step, totalSteps });
    };
    this.helper ??= new SamplerHelper();
    const helper = this.helper;
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
        noiseScale: this.options.imageConditionNoiseScale ?? LTX_IMAGE_COND_NOISE_SCALE,
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
    const chunkFrames = this.chunkFrames();
    let written = 0;
    const batches = loaded.decoder.decodeFrames(
      { data: latents, shape: dims },
      { data: decodeNoise, shape: dims },
      {
        timestep: this.options.decodeTimestep ?? LTX_DECODE_TIMESTEP,
        noiseScale: this.options.decodeNoiseScale ?? LTX_DECODE_NOISE_SCALE,
        ...(chunkFrames === undefined ? {} : { chunkFrames }),
        ...(this.options.decodeTiling === undefined ? {} : { tiling: this.options.decodeTiling }),
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

/** Elements of the tensors whose names start with `prefix`. */
function sumElements(file: SafetensorsFile, prefix: string): number {
  let sum = 0;
  for (const entry of file.entries.values()) {
    if (entry.name.startsWith(prefix)) sum += elementCount(entry.shape);
  }
  return sum;
}

/** Parameters of a T5 folder's weights, from the safetensors headers. */
async function t5Parameters(textEncoderDir: string): Promise<number> {
  const weights = await T5Weights.open(textEncoderDir);
  const files = weights.sourceFiles.filter((file) => file.endsWith('.safetensors'));
  await weights.close();
  let sum = 0;
  for (const path of files) {
    const file = await SafetensorsFile.open(path);
    sum += sumElements(file, '');
    await file.close();
  }
  return sum;
}

function conversionProgress(
  component: ModelLoadProgress['component'],
  event: ConversionEvent,
): ModelLoadProgress | undefined {
  switch (event.kind) {
    case 'hashing':
      return {
        component,
        phase: 'checking',
        fraction: event.bytesTotal > 0 ? event.bytesDone / event.bytesTotal : 1,
      };
    case 'waiting':
      return { component, phase: 'converting' };
    case 'writing':
      return {
        component,
        phase: 'converting',
        fraction: event.bytesTotal > 0 ? event.bytesWritten / event.bytesTotal : 1,
      };
    case 'ready':
      return { component, phase: 'loading' };
    case 'notice':
      return { component, phase: 'converting', notice: event.message };
  }
}
