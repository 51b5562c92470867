/**
 * Asks ffmpeg (through fluent-ffmpeg, like the MP4 writer) whether NVENC encodes here: one frame
 * with the worker's NVENC settings (`nvencProbeArguments`). ffmpeg may list h264_nvenc and still
 * fail to open it: no NVIDIA GPU, no driver, a container started without the driver's video
 * libraries, or a GPU without NVENC. Only an encode tells.
 */
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { NvencProbeResult } from './encoder-choice.ts';
import { NVENC_PROBE_SIZE, nvencProbeArguments } from './ffmpeg-args.ts';

/** Longest answer kept from ffmpeg: its last lines say why. */
const MAX_REASON_LENGTH = 600;

export interface NvencProbeOptions {
  /**
   * Seconds before the probe gives up (ffmpeg is killed and NVENC counts as unavailable). A
   * working GPU answers in well under a second; the first CUDA start on a busy machine can take
   * a few.
   */
  readonly timeoutSeconds?: number;
}

export function probeNvenc({
  timeoutSeconds = 15,
}: NvencProbeOptions = {}): Promise<NvencProbeResult> {
  const args = nvencProbeArguments();
  return new Promise((resolve) => {
    const input = new PassThrough();
    const command = ffmpeg({ timeout: timeoutSeconds })
      .input(input)
      .inputOptions([...args.inputOptions])
      .output('-')
      .outputOptions(['-hide_banner', '-v', 'error', ...args.outputOptions]);
    command.on('end', () => {
      resolve({ works: true });
    });
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      input.destroy();
      resolve({ works: false, reason: ffmpegReason(error.message, stderr ?? '') });
    });
    command.run();
    // ffmpeg may fail before it reads the frame: the error above tells, not this write.
    input.on('error', () => undefined);
    input.end(Buffer.alloc(NVENC_PROBE_SIZE * NVENC_PROBE_SIZE * 3));
  });
}

/**
 * ffmpeg's complaint in one line: its error lines without the `[h264_nvenc @ 0x…]` prefixes,
 * or fluent-ffmpeg's message (ffmpeg missing, the timeout) when ffmpeg said nothing.
 */
export function ffmpegReason(message: string, stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/\[[^\]]* @ 0x[0-9a-f]+\] /g, '').trim())
    .filter((line) => line !== '');
  const reason = lines.length > 0 ? lines.join('; ') : message.trim();
  return reason.length > MAX_REASON_LENGTH ? `…${reason.slice(-MAX_REASON_LENGTH)}` : reason;
}
