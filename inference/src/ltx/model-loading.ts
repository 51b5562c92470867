/**
 * Loading the LTX pipeline's models (pipeline.ts): the execution provider and the precision
 * chosen, where the text encoder lives decided, then each model converted to ONNX (once, into
 * the cache) and loaded, one at a time so that the peak is the largest model's.
 */
import { freemem } from 'node:os';
import {
  convertVaeDecoder,
  convertVaeEncoder,
  elementCount,
  LtxCheckpoint,
  parseVaeConfig,
  SafetensorsFile,
  T5_MAX_TOKENS,
  T5Weights,
  TRANSFORMER_PREFIX,
  VAE_PREFIX,
  type ConversionEvent,
  type LtxCheckpointConfig,
  type VaeConfig,
} from '@zeus/models';
import { attentionKernelFor } from '../onnx/attention-probe.ts';
import { chooseProvider, probeProvider } from '../onnx/provider-choice.ts';
import type { ExecutionProvider } from '../onnx/runtime.ts';
import type { Precision } from '../runtime-options.ts';
import {
  latentShapeOf,
  samplingTimesteps,
  tokenCount,
  type VaeScaleFactors,
} from '../sampler/index.ts';
import { queryGpuMemory } from '../system/gpu-memory.ts';
import type { LtxPipelineInfo, LtxPipelineOptions, ModelLoadProgress } from './pipeline-types.ts';
import type { PreviewProjection } from './preview.ts';
import { cachedPreviewProjection } from './preview-fit.ts';
import { T5TextEncoder } from './text-encoder.ts';
import { decideTextEncoderPlacement, estimateActivationBytes } from './text-encoder-placement.ts';
import { LtxTransformer } from './transformer.ts';
import { VaeDecoder } from './vae-decoder.ts';
import { VaeEncoder } from './vae-encoder.ts';

/** The loaded models, with what loading decided. */
export interface LoadedModels {
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

/**
 * Converts the models (once, into the cache) and loads them, one at a time, on the provider and
 * at the precision chosen here; `decodeChunkFrames` sizes the decoder's activations for the text
 * encoder's placement (undefined: one pass).
 */
export async function loadModels(
  options: LtxPipelineOptions,
  totalSteps: number,
  decodeChunkFrames: number | undefined,
): Promise<LoadedModels> {
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
  const timesteps = samplingTimesteps(config.scheduler, totalSteps, config.allowedInferenceSteps);
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
  const chunkFrames = decodeChunkFrames ?? PLACEMENT_JOB.numFrames;
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
    return {
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
  } catch (error) {
    await Promise.all(opened.map((model) => model.release()));
    throw error;
  }
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
