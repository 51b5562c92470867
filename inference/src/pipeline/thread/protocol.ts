/**
 * The messages between the worker's main thread and its model thread (pure: no I/O). The model
 * thread owns the ONNX Runtime sessions; the main thread keeps the queue, heartbeats, progress
 * publishing and ffmpeg, which must never wait behind a model run.
 *
 *   main → model   load, generate, abort, ack (frames the sink took), dispose, crash (tests)
 *   model → main   load-progress, loaded | load-failed, progress, preview (transferred bytes),
 *                  frame (transferred bytes), stats, done | failed
 *
 * Errors cross as plain objects and are rebuilt with their class, code and message:
 * `JobFailure` keeps its code (INVALID_JOB for an over-long prompt…), `SessionError` stays a
 * SessionError, anything else becomes a `ModelThreadError` carrying the original name.
 */
import { JobFailure, type GenerationSettings, type JobErrorCode } from '@zeus/core';
import type { PlanarImage } from '../../image/first-frame.ts';
import type {
  LtxPipelineInfo,
  LtxPipelineOptions,
  ModelLoadProgress,
} from '../../ltx/pipeline-types.ts';
import { SessionError } from '../../onnx/runtime.ts';
import type { GenerationStats, PipelineProgress } from '../types.ts';

/** The pipeline's options that can cross threads (no callbacks). */
export type ThreadPipelineOptions = Omit<LtxPipelineOptions, 'onLoadProgress' | 'gpuMemory'>;

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

export type ToModelThread =
  | { readonly type: 'load'; readonly options: ThreadPipelineOptions }
  | {
      readonly type: 'generate';
      readonly id: number;
      readonly settings: GenerationSettings;
      /** Image-to-video: the prepared first frame (copied across). */
      readonly firstFrame?: PlanarImage;
      /** Send a `preview` after each denoising step. */
      readonly previews: boolean;
      /**
       * One Int32 the main thread sets to 1 (and notifies) to stop the job: read by the thread
       * after every denoising step and before every frame, whatever its event loop is doing.
       */
      readonly stopFlag: SharedArrayBuffer;
      /** Each denoising step lasts at least this long (pacing for tests and demos; 0: none). */
      readonly minStepMs: number;
    }
  | { readonly type: 'abort'; readonly id: number }
  /** The sink has taken `frames` frames of job `id` in all: the thread may send more. */
  | { readonly type: 'ack'; readonly id: number; readonly frames: number }
  /** Release the sessions; the thread answers `disposed` and ends. */
  | { readonly type: 'dispose' }
  /** Fault injection: throw an uncaught error, as a crash would (tests). */
  | { readonly type: 'crash' };

export type FromModelThread =
  | { readonly type: 'load-progress'; readonly progress: ModelLoadProgress }
  | { readonly type: 'loaded'; readonly info: LtxPipelineInfo }
  | { readonly type: 'load-failed'; readonly error: SerializedError }
  | { readonly type: 'progress'; readonly id: number; readonly progress: PipelineProgress }
  /** A live preview; `rgb` is transferred. */
  | {
      readonly type: 'preview';
      readonly id: number;
      readonly step: number;
      readonly width: number;
      readonly height: number;
      readonly rgb: ArrayBuffer;
    }
  /** One RGB24 frame; `data` is transferred, not copied. */
  | {
      readonly type: 'frame';
      readonly id: number;
      readonly index: number;
      readonly data: ArrayBuffer;
    }
  /** What the generation cost (times and host traffic), measured in the model thread. */
  | { readonly type: 'stats'; readonly id: number; readonly stats: GenerationStats }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError }
  | { readonly type: 'disposed' };

/**
 * A thread is only ever stopped from the inside: `Worker.terminate()` while ONNX Runtime is
 * inside a run aborts the whole process (the binding throws a C++ exception when the run
 * returns into a terminating isolate), and a run can last minutes on a CPU.
 */

/** Frames the model thread may send ahead of the sink (bounds memory when ffmpeg is slow). */
export const FRAMES_IN_FLIGHT = 16;

/** A failure inside the model thread that is not one of Zeus' typed errors. */
export class ModelThreadError extends Error {
  override readonly name = 'ModelThreadError';
  constructor(
    /** The original error's class name, e.g. "VaeDecodeError". */
    readonly originalName: string,
    message: string,
    stack?: string,
  ) {
    super(`${originalName}: ${message}`);
    if (stack !== undefined) this.stack = `${this.name}: ${originalName}: ${message}\n${stack}`;
  }
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  }
  return { name: 'Error', message: String(error) };
}

export function deserializeError(error: SerializedError): Error {
  if (error.name === 'JobFailure' && error.code !== undefined) {
    // Only JobFailure's constructor made this code: it is a JobErrorCode.
    return new JobFailure(error.code as JobErrorCode, error.message);
  }
  if (error.name === 'SessionError') return new SessionError(error.message);
  return new ModelThreadError(error.name, error.message, error.stack);
}
