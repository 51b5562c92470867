/**
 * The NVENC probe and the encoder choice against this machine's real ffmpeg. Without an NVIDIA
 * GPU (this project's CI) the probe must fail with ffmpeg's reason, `auto` must take libx264 and
 * `nvenc` must refuse; with one, NVENC must write a playable MP4.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideo } from '../../../tests/helpers/video.ts';
import { selectVideoEncoder, type NvencProbeResult } from './encoder-choice.ts';
import { Mp4Writer } from './mp4-writer.ts';
import { ffmpegReason, probeNvenc } from './nvenc-probe.ts';

let root: string;
let probe: NvencProbeResult;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-nvenc-test-'));
  probe = await probeNvenc();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
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

  it('where NVENC works, writes a playable H.264 yuv420p MP4 with it', async (context) => {
    if (!probe.works) context.skip();
    const writer = await Mp4Writer.open({
      directory: join(root, 'nvenc'),
      width: 256,
      height: 192,
      frameRate: 25,
      encoder: 'nvenc',
      expectedFrames: 25,
    });
    for (let i = 0; i < 25; i += 1) {
      await writer.write(new Uint8Array(256 * 192 * 3).fill((i * 10) % 256));
    }
    expect(await probeVideo(await writer.finish())).toMatchObject({
      codec: 'h264',
      pixelFormat: 'yuv420p',
      width: 256,
      height: 192,
      frames: 25,
    });
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
