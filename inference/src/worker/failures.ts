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
}

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
