/**
 * The pipeline for `ZEUS_MODEL`: both models run the LTX-Video pipeline (the tiny-random set has
 * the real one's structure), in its own thread so that the worker's event loop stays free.
 */
import type { ModelFiles } from '@zeus/models';
import type { Precision } from '../ltx/pipeline.ts';
import type { LtxPipelineInfo, ModelLoadProgress } from '../ltx/pipeline-types.ts';
import type { TextEncoderSetting } from '../ltx/text-encoder-placement.ts';
import type { VaeTiling } from '../ltx/vae-tiles.ts';
import type { Device } from '../onnx/runtime.ts';
import { ThreadedPipeline } from './thread/threaded-pipeline.ts';
import type { VideoPipeline } from './types.ts';

export interface PipelineConfig {
  readonly model: string;
  /** The model's files (from ensureModelFiles). */
  readonly files: ModelFiles;
  readonly device: Device;
  /** Default: fp16 on GPU providers, fp32 on the CPU. */
  readonly precision?: Precision | undefined;
  readonly textEncoder: TextEncoderSetting;
  /** Spatial tiles for the VAE decoder (`ZEUS_VAE_TILE`); undefined: whole frames. */
  readonly vaeTiling?: VaeTiling | undefined;
  /** Denoising steps per video. */
  readonly steps: number;
  readonly onLoadProgress?: (progress: ModelLoadProgress) => void;
  readonly onLoaded?: (info: LtxPipelineInfo) => void;
  readonly onThreadExit?: (reason: string) => void;
  /** Each denoising step lasts at least this long (`ZEUS_MIN_STEP_MS`, tests and demos). */
  readonly minStepMs?: number;
}

export function createPipeline(config: PipelineConfig): VideoPipeline {
  return new ThreadedPipeline({
    pipeline: {
      name: config.model,
      files: config.files,
      device: config.device,
      textEncoder: config.textEncoder,
      steps: config.steps,
      ...(config.precision === undefined ? {} : { precision: config.precision }),
      ...(config.vaeTiling === undefined ? {} : { decodeTiling: config.vaeTiling }),
    },
    ...(config.onLoadProgress === undefined ? {} : { onLoadProgress: config.onLoadProgress }),
    ...(config.onLoaded === undefined ? {} : { onLoaded: config.onLoaded }),
    ...(config.onThreadExit === undefined ? {} : { onThreadExit: config.onThreadExit }),
    ...(config.minStepMs === undefined ? {} : { minStepMs: config.minStepMs }),
  });
}
