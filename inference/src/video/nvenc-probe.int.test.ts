/**
 * The NVENC probe and the encoder choice against this machine's real ffmpeg. Without an NVIDIA
 * GPU (this project's CI) the probe must fail with ffmpeg's reason, `auto` must take libx264 and
 * `nvenc` must refuse. Where NVENC works, `npm run bench -- --only worker` encodes with it and
 * checks the MP4 with ffprobe (a GPU-only check has no place in a suite that CI runs without one).
 */
import { ConfigError } from '@zeus/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectVideoEncoder, type NvencProbeResult } from './encoder-choice.ts';
import { ffmpegReason, probeNvenc } from './nvenc-probe.ts';

let probe: NvencProbeResult;
beforeAll(async () => {
  probe = await probeNvenc();
});

describe('probeNvenc (real ffmpeg)', () => {
  it('when NVENC fails, says why in ffmpeg’s words', () => {
    if (probe.works) return;
    expect(probe.reason).not.toBe('');
    expect(probe.reason).not.toMatch(/@ 0x/);
    // ffmpeg reads the encoder's options before it loads the driver: even without a GPU, a
    // misspelt NVENC setting would show here.
    expect(probe.reason).not.toMatch(/Error setting option|Unable to parse option|Unrecognized/);
  });

  it('auto takes libx264 where NVENC fails and NVENC where it works', async () => {
    const choice = await selectVideoEncoder('auto', () => Promise.resolve(probe));
    if (probe.works) {
      expect(choice.encoder).toBe('nvenc');
    } else {
      expect(choice).toEqual({
        encoder: 'libx264',
        reason: `h264_nvenc cannot encode here: ${probe.reason}`,
      });
    }
  });

  it('nvenc refuses to start where NVENC fails, saying why', async () => {
    const chosen = selectVideoEncoder('nvenc', () => probeNvenc());
    if (probe.works) {
      expect((await chosen).encoder).toBe('nvenc');
      return;
    }
    const error = await chosen.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(
      "ZEUS_VIDEO_ENCODER is nvenc, but ffmpeg's h264_nvenc cannot encode here: ",
    );
  });
});

describe('ffmpegReason', () => {
  it('keeps ffmpeg’s error lines, without the encoder’s address, on one line', () => {
    expect(
      ffmpegReason(
        'ffmpeg exited with code 1',
        '[h264_nvenc @ 0x55c87d01e280] Cannot load libcuda.so.1\nError initializing output stream 0:0\n',
      ),
    ).toBe('Cannot load libcuda.so.1; Error initializing output stream 0:0');
  });

  it("falls back on fluent-ffmpeg's message, and keeps the end of a long answer", () => {
    expect(ffmpegReason('Cannot find ffmpeg', '')).toBe('Cannot find ffmpeg');
    const long = ffmpegReason('', `${'x'.repeat(1_000)}\nthe reason`);
    expect(long.length).toBeLessThanOrEqual(601);
    expect(long.endsWith('the reason')).toBe(true);
  });
});
