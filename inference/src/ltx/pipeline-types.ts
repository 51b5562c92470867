/**
 * What the LTX pipeline (pipeline.ts) is given and what it tells: its files and options, the
 * hooks and trace of a generation, and what loading decided.
 */
import type { AttentionKernel } from '@zeus/models';
import type { Device, ExecutionProvider } from '../onnx/runtime.ts';
import type { GenerationHooks } from '../pipeline/types.ts';
import type { Precision } from '../runtime-options.ts';
import type { NoiseSource, VaeScaleFactors } from '../sampler/index.ts';
import type { VideoGeometry } from './geometry.ts';
import type { PromptEmbeddings } from './text-encoder.ts';
import type { GpuMemory, PlacementDecision, TextEncoderSetting } from './text-encoder-placement.ts';
import type { FrameBatch } from './vae-decode-io.ts';
import type { VaeTiling } from './vae-tiles.ts';

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
