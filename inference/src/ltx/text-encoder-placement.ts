/**
 * Where the T5 text encoder lives (`ZEUS_TEXT_ENCODER`). The real T5-XXL is the largest of the
 * three models (about 9.5 GB in fp16, against 3.9 GB for the transformer and the VAE decoder's
 * weights and activations), and it runs once per new prompt, so on a GPU that cannot hold
 * everything it is the one to move:
 *
 *   gpu        on the pipeline's device with the others, loaded once (fastest; needs the memory)
 *   cpu        in host memory, on ONNX Runtime's CPU provider, loaded once
 *   on-demand  on the pipeline's device, loaded for each new prompt and released after it
 *
 * `auto` decides from facts read at start (pure: the caller reads them): on the CPU provider
 * everything is host memory anyway, so the encoder stays loaded; on a GPU it stays there when
 * the free memory holds every model's weights plus the activations of the largest job and a
 * tenth of the card as headroom; otherwise it goes to the CPU when host memory has room for it,
 * else it is loaded on demand. With the real model in fp16 that keeps everything on 40 GB and
 * larger cards, and moves T5 off a 24 GB one.
 */
import type { ExecutionProvider } from '../onnx/runtime.ts';

export const TEXT_ENCODER_SETTINGS = ['auto', 'gpu', 'cpu', 'on-demand'] as const;
export type TextEncoderSetting = (typeof TEXT_ENCODER_SETTINGS)[number];
export type TextEncoderPlacement = Exclude<TextEncoderSetting, 'auto'>;

/** Memory of the pipeline's GPU, as nvidia-smi reports it. */
export interface GpuMemory {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface PlacementFacts {
  /** The provider the transformer and VAE run on. */
  readonly provider: ExecutionProvider;
  /** Undefined when it cannot be read (no nvidia-smi, or not an NVIDIA GPU). */
  readonly gpuMemory: GpuMemory | undefined;
  /** Host memory available to new allocations (os.freemem()). */
  readonly hostFreeBytes: number;
  /** Weight bytes at the precision they will be loaded in. */
  readonly textEncoderBytes: number;
  readonly transformerBytes: number;
  readonly vaeBytes: number;
  /** Activations of the largest job the pipeline accepts (see estimateActivationBytes). */
  readonly activationBytes: number;
}

export interface PlacementDecision {
  readonly placement: TextEncoderPlacement;
  /** Why, in words, for the log. */
  readonly reason: string;
}

/** Share of the GPU kept free beyond the estimate (allocator slack, CUDA context, other users). */
const GPU_HEADROOM = 0.1;
/** Host memory the CPU encoder needs beyond its weights (its activations, the process). */
const HOST_MARGIN = 1.5;

export function decideTextEncoderPlacement(
  setting: TextEncoderSetting,
  facts: PlacementFacts,
): PlacementDecision {
  if (setting !== 'auto') {
    return { placement: setting, reason: `ZEUS_TEXT_ENCODER=${setting}` };
  }
  if (facts.provider === 'cpu') {
    return {
      placement: 'cpu',
      reason: 'the pipeline runs on the CPU provider: the text encoder stays loaded beside it',
    };
  }
  const needed =
    facts.textEncoderBytes + facts.transformerBytes + facts.vaeBytes + facts.activationBytes;
  if (facts.gpuMemory === undefined) {
    // No way to tell: keeping it loaded on the device is what works on any GPU with room, and
    // the setting can move it.
    return {
      placement: 'gpu',
      reason: `the GPU's free memory is unknown; the pipeline needs about ${gib(needed)}`,
    };
  }
  const available = facts.gpuMemory.freeBytes - GPU_HEADROOM * facts.gpuMemory.totalBytes;
  const summary =
    `${gib(facts.gpuMemory.freeBytes)} of ${gib(facts.gpuMemory.totalBytes)} free on the GPU; ` +
    `everything needs about ${gib(needed)} plus ${Math.round(GPU_HEADROOM * 100)} % headroom`;
  if (needed <= available) return { placement: 'gpu', reason: summary };
  if (facts.hostFreeBytes >= HOST_MARGIN * facts.textEncoderBytes) {
    return {
      placement: 'cpu',
      reason: `${summary}; host memory has room (${gib(facts.hostFreeBytes)} free)`,
    };
  }
  return {
    placement: 'on-demand',
    reason: `${summary}; host memory is short too (${gib(facts.hostFreeBytes)} free)`,
  };
}

/**
 * ONNX Runtime's CUDA allocator grows its arena in powers of two and keeps what it took, so
 * activations can hold up to about twice what the graphs need at once.
 */
const ARENA_SLACK = 2;

/**
 * A rough upper bound of the activations' peak for a job (the worker uses its default job,
 * 768x512x121): the transformer keeps a few [tokens, 4·width] tensors alive at once (attention
 * is the fused, memory-efficient kernel, so no [tokens, tokens] matrix); the VAE decoder's
 * full-resolution stages hold about four [base channels, chunk frames + 4, pixels] tensors.
 * Times the allocator's slack. An estimate to choose a placement by, not a measurement.
 */
export function estimateActivationBytes(options: {
  readonly latentTokens: number;
  readonly width: number;
  readonly pixelsPerFrame: number;
  readonly vaeBaseChannels: number;
  readonly chunkFrames: number;
  readonly bytesPerValue: number;
}): number {
  const transformer = 8 * options.latentTokens * 4 * options.width * options.bytesPerValue;
  const vae =
    4 *
    options.vaeBaseChannels *
    (options.chunkFrames + 4) *
    options.pixelsPerFrame *
    options.bytesPerValue;
  return ARENA_SLACK * (transformer + vae);
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
