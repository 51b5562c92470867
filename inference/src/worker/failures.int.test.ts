import { JobFailure } from '@zeus/core';
import { describe, expect, it } from 'vitest';
import { SessionError } from '../onnx/runtime.ts';
import { ModelThreadError } from '../pipeline/thread/protocol.ts';
import { EncoderError } from '../video/mp4-writer.ts';
import { describeFailure } from './failures.ts';

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: something at /srv/zeus/generated/x`), { code });

describe('describeFailure', () => {
  it('tells disk problems apart from encoder and model failures, without paths', () => {
    expect(describeFailure(errno('ENOSPC'))).toEqual({
      code: 'STORAGE_FAILED',
      message: 'The video could not be saved: the disk is full.',
    });
    expect(describeFailure(errno('EROFS'))).toEqual({
      code: 'STORAGE_FAILED',
      message: 'The video could not be saved: the video folder is read-only.',
    });
    expect(describeFailure(new SessionError('The transformer model failed: CUDA oom'))).toEqual({
      code: 'MODEL_FAILED',
      message: 'The model failed while generating the video.',
    });
    expect(describeFailure(new JobFailure('INVALID_JOB', 'The prompt is too long.'))).toEqual({
      code: 'INVALID_JOB',
      message: 'The prompt is too long.',
    });
    expect(describeFailure(new Error('boom at /srv/zeus/x.ts:3'))).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'The worker failed unexpectedly.',
    });
  });

  it('says when the model ran out of memory, and tells the operator what to change', () => {
    const messages = [
      'The VAE decoder model failed: Non-zero status code returned while running Conv node. CUDA failure 2: out of memory',
      'The transformer model failed: BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer of size 4294967296',
      'The VAE decoder model failed: std::bad_alloc',
    ];
    for (const message of messages) {
      const failure = describeFailure(new SessionError(message));
      expect(failure, message).toEqual({
        code: 'MODEL_FAILED',
        message:
          'The model ran out of memory while generating the video: a smaller size or fewer frames needs less.',
        hint: expect.stringContaining('ZEUS_VAE_TILE=512') as unknown,
      });
    }
    // Through the model thread too.
    expect(describeFailure(new ModelThreadError('Error', 'WebGPU: out of memory')).message).toMatch(
      /^The model ran out of memory/,
    );
  });

  it("reads a disk problem in ffmpeg's last words as STORAGE_FAILED", () => {
    const encoder = (stderr: string): EncoderError =>
      new EncoderError('ffmpeg failed: ffmpeg exited with code 1', stderr);
    expect(
      describeFailure(
        encoder(
          '[mp4 @ 0x55] Error writing trailer of /srv/generated/x/.out.mp4.partial: No space left on device',
        ),
      ),
    ).toEqual({
      code: 'STORAGE_FAILED',
      message: 'The video could not be saved: the disk is full.',
    });
    expect(
      describeFailure(encoder('/srv/generated/x/.out.mp4.partial: Read-only file system')),
    ).toEqual({
      code: 'STORAGE_FAILED',
      message: 'The video could not be saved: the video folder is read-only.',
    });
    expect(describeFailure(encoder("Unknown encoder 'libx265x'"))).toEqual({
      code: 'ENCODER_FAILED',
      message: 'The video encoder (ffmpeg) failed.',
    });
  });
});
