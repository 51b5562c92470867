/**
 * What a job's user is told when generation fails: a stable code and a plain sentence. The
 * full error (which may hold paths and ffmpeg's output) goes to the worker's log instead.
 */
import { JobFailure, type JobErrorCode } from '@zeus/core';
import { SessionError } from '../onnx/runtime.ts';
import { ModelThreadError } from '../pipeline/thread/protocol.ts';
import { EncoderError } from '../video/mp4-writer.ts';

export interface FailureDescription {
  readonly code: JobErrorCode;
  readonly message: string;
  /** For the worker's operator (the log), when there is something they can change. */
  readonly hint?: string;
}

/** ONNX Runtime's words when a provider cannot allocate (CUDA, its arena, WebGPU, the CPU). */
const OUT_OF_MEMORY = /out of memory|failed to allocate|bad_alloc|cudaErrorMemoryAllocation/i;

/** File-system error codes, in words users understand. */
const STORAGE_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'the worker may not write to the video folder',
  EPERM: 'the worker may not write to the video folder',
  EROFS: 'the video folder is read-only',
  EIO: 'the disk reported an error',
  ENOTDIR: 'the video folder is not a folder',
};

/** ffmpeg's words (strerror) for the same problems. */
const STORAGE_MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/No space left on device/i, 'the disk is full'],
  [/Disk quota exceeded/i, 'the disk quota is used up'],
  [/Read-only file system/i, 'the video folder is read-only'],
  [/Permission denied|Operation not permitted/i, 'the worker may not write to the video folder'],
  [/Input\/output error/i, 'the disk reported an error'],
];

export function describeFailure(error: unknown): FailureDescription {
  if (error instanceof JobFailure)
    return { code: error.code as JobErrorCode, message: error.message };
  if (error instanceof EncoderError) {
    // ffmpeg writes the file itself: a disk problem reaches us only as its last words.
    const storage = STORAGE_MESSAGES.find(([pattern]) => pattern.test(error.stderr));
    if (storage !== undefined) {
      return { code: 'STORAGE_FAILED', message: `The video could not be saved: ${storage[1]}.` };
    }
    return { code: 'ENCODER_FAILED', message: 'The video encoder (ffmpeg) failed.' };
  }
  if (error instanceof SessionError || error instanceof ModelThreadError) {
    if (OUT_OF_MEMORY.test(error.message)) {
      return {
        code: 'MODEL_FAILED',
        message:
          'The model ran out of memory while generating the video: a smaller size or fewer ' +
          'frames needs less.',
        hint:
          'out of memory: if it happens while decoding large frames, ZEUS_VAE_TILE=512 makes ' +
          'the VAE decode them in tiles; ZEUS_TEXT_ENCODER=cpu frees the text encoder memory',
      };
    }
    return { code: 'MODEL_FAILED', message: 'The model failed while generating the video.' };
  }
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && code in STORAGE_PROBLEMS) {
    return {
      code: 'STORAGE_FAILED',
      message: `The video could not be saved: ${STORAGE_PROBLEMS[code] ?? code}.`,
    };
  }
  return { code: 'INTERNAL_ERROR', message: 'The worker failed unexpectedly.' };
}
