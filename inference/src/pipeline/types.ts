/**
 * What the worker asks of a text-to-video model. A pipeline turns settings into RGB frames,
 * reporting progress; the worker owns everything around it (the queue, the job's state, the
 * MP4 file). Implementation: `LtxPipeline` (inference/src/ltx/pipeline.ts), run in a thread of its
 * own by `ThreadedPipeline` (thread/).
 */
import type { GenerationSettings } from '@zeus/core';
import type { PlanarImage } from '../image/first-frame.ts';
import type { LatentPreview } from '../ltx/preview.ts';

export type { LatentPreview } from '../ltx/preview.ts';

export type PipelineStage = 'LOADING_MODEL' | 'ENCODING_PROMPT' | 'DENOISING' | 'DECODING';

export interface PipelineProgress {
  readonly stage: PipelineStage;
  /** Denoising steps done (0 before denoising, `totalSteps` after). */
  readonly step: number;
  readonly totalSteps: number;
}

/** Where frames go, in order, as they are produced. */
export interface FrameSink {
  /**
   * Takes one frame: `height × width × 3` bytes, RGB24, rows top to bottom. Resolves when the
   * sink can take the next one (backpressure): await it before producing more.
   */
  write(frame: Uint8Array): Promise<void>;
}

export interface GenerationHooks {
  /** Called as the work advances; cheap and synchronous (the worker throttles publishing). */
  onProgress(progress: PipelineProgress): void;
  /** Receives exactly `settings.numFrames` frames of `settings.width × settings.height`. */
  readonly frames: FrameSink;
  /** Aborted when the job must stop (shutdown, or the job was taken over): reject with its reason. */
  readonly signal: AbortSignal;
  /**
   * Image-to-video: the first frame to condition on, prepared for the VAE encoder at
   * `settings.width × settings.height` (see image/first-frame.ts).
   */
  readonly firstFrame?: PlanarImage;
  /**
   * Live previews: called after each denoising step with a picture of the model's current
   * estimate at latent resolution (cheap, synchronous). Absent: no previews are computed.
   */
  readonly onPreview?: (preview: LatentPreview) => void;
  /** Called once, after the last frame, with what the generation cost (benchmarks). */
  readonly onStats?: (stats: GenerationStats) => void;
}

/** One denoising step, measured on the thread that runs the models. */
export interface StepStats {
  /** From the end of the previous step (or the start of denoising) to the end of this one. */
  readonly wallMs: number;
  /** Inside ONNX Runtime's runs (the transformer's). */
  readonly runMs: number;
  /** The rest: JavaScript on the critical path between two runs (wallMs − runMs). */
  readonly jsMs: number;
  /** Bytes fed to ONNX Runtime from the host and returned to it (runtime.ts, hostTraffic). */
  readonly toRuntimeBytes: number;
  readonly fromRuntimeBytes: number;
}

/** What one generation cost: per step, and in all (prompt encoding to the last frame). */
export interface GenerationStats {
  readonly steps: readonly StepStats[];
  readonly toRuntimeBytes: number;
  readonly fromRuntimeBytes: number;
  /** Session runs, and the time inside them. */
  readonly runs: number;
  readonly runMs: number;
}

export interface VideoPipeline {
  /** The model's name, as in `ZEUS_MODEL`. */
  readonly name: string;
  /** Denoising steps per video. */
  readonly totalSteps: number;
  /** Loads the model; called once before the first `generate`. */
  load(): Promise<void>;
  /**
   * Generates one video, writing its frames to `hooks.frames`. Deterministic for the same
   * settings (seed included) on the same device. Runs one video at a time.
   */
  generate(settings: GenerationSettings, hooks: GenerationHooks): Promise<void>;
  /** Releases the model. */
  dispose(): Promise<void>;
}
