import { describe, expect, it } from 'vitest';
import {
  mp4Arguments,
  NVENC_CODEC_OPTIONS,
  NVENC_PROBE_SIZE,
  nvencProbeArguments,
  posterArguments,
} from './ffmpeg-args.ts';

function valueAfter(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index < 0 ? undefined : args[index + 1];
}

describe('mp4Arguments', () => {
  const args = mp4Arguments({ width: 768, height: 512, frameRate: 25 });

  it('reads raw RGB24 frames of the requested size and rate', () => {
    expect(args.inputOptions).toEqual([
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-video_size',
      '768x512',
      '-framerate',
      '25',
    ]);
  });

  it('writes H.264 in yuv420p with the index at the front, and no audio', () => {
    const out = args.outputOptions;
    expect(valueAfter(out, '-c:v')).toBe('libx264');
    expect(valueAfter(out, '-pix_fmt')).toBe('yuv420p');
    expect(valueAfter(out, '-movflags')).toBe('+faststart');
    expect(valueAfter(out, '-f')).toBe('mp4');
    expect(out).toContain('-an');
  });

  it('uses the quality settings given, with defaults', () => {
    expect(valueAfter(args.outputOptions, '-crf')).toBe('18');
    expect(valueAfter(args.outputOptions, '-preset')).toBe('veryfast');
    const custom = mp4Arguments({ width: 64, height: 64, frameRate: 8, crf: 28, preset: 'fast' });
    expect(valueAfter(custom.outputOptions, '-crf')).toBe('28');
    expect(valueAfter(custom.outputOptions, '-preset')).toBe('fast');
    expect(valueAfter(custom.inputOptions, '-video_size')).toBe('64x64');
    expect(valueAfter(custom.inputOptions, '-framerate')).toBe('8');
  });

  it('tunes for zero latency unless told otherwise', () => {
    expect(valueAfter(args.outputOptions, '-tune')).toBe('zerolatency');
    const film = mp4Arguments({ width: 64, height: 64, frameRate: 8, tune: 'film' });
    expect(valueAfter(film.outputOptions, '-tune')).toBe('film');
    const untuned = mp4Arguments({ width: 64, height: 64, frameRate: 8, tune: null });
    expect(untuned.outputOptions).not.toContain('-tune');
    expect(valueAfter(untuned.outputOptions, '-c:v')).toBe('libx264');
  });

  it('refuses sizes and rates ffmpeg would reject or mangle', () => {
    expect(() => mp4Arguments({ width: 63, height: 64, frameRate: 8 })).toThrow(/even/);
    expect(() => mp4Arguments({ width: 0, height: 64, frameRate: 8 })).toThrow(/width/);
    expect(() => mp4Arguments({ width: 64, height: 64, frameRate: 0 })).toThrow(/frameRate/);
    expect(() => mp4Arguments({ width: 64, height: 64.5, frameRate: 8 })).toThrow(/height/);
  });
});

describe('mp4Arguments with NVENC', () => {
  const args = mp4Arguments({ width: 768, height: 512, frameRate: 25, encoder: 'nvenc' });
  const out = args.outputOptions;

  it('reads the same raw frames and writes the same kind of MP4 as with x264', () => {
    const x264 = mp4Arguments({ width: 768, height: 512, frameRate: 25 });
    expect(args.inputOptions).toEqual(x264.inputOptions);
    expect(valueAfter(out, '-c:v')).toBe('h264_nvenc');
    expect(valueAfter(out, '-pix_fmt')).toBe('yuv420p');
    expect(valueAfter(out, '-movflags')).toBe('+faststart');
    expect(valueAfter(out, '-f')).toBe('mp4');
    expect(valueAfter(out, '-profile:v')).toBe('high');
    expect(out).toContain('-an');
  });

  it('holds no frame back (no B-frames, no lookahead) and aims at a constant quality', () => {
    expect(valueAfter(out, '-bf')).toBe('0');
    expect(out).not.toContain('-rc-lookahead');
    expect(valueAfter(out, '-rc')).toBe('vbr');
    expect(valueAfter(out, '-cq')).toBe('19');
    // Without it h264_nvenc aims at 2 Mbit/s whatever the quality asked for.
    expect(valueAfter(out, '-b:v')).toBe('0');
    expect(valueAfter(out, '-preset')).toBe('p4');
    expect(valueAfter(out, '-tune')).toBe('hq');
    expect(out).not.toContain('-crf');
  });

  it("refuses x264's settings rather than ignore them", () => {
    const base = { width: 64, height: 64, frameRate: 8, encoder: 'nvenc' } as const;
    expect(() => mp4Arguments({ ...base, crf: 18 })).toThrow(/crf is an x264 setting/);
    expect(() => mp4Arguments({ ...base, preset: 'fast' })).toThrow(/preset/);
    expect(() => mp4Arguments({ ...base, tune: null })).toThrow(/tune/);
  });
});

describe('nvencProbeArguments', () => {
  it('encodes one piped frame with the NVENC settings of the MP4s, to nowhere', () => {
    const probe = nvencProbeArguments();
    expect(valueAfter(probe.inputOptions, '-pix_fmt')).toBe('rgb24');
    expect(valueAfter(probe.inputOptions, '-video_size')).toBe(
      `${NVENC_PROBE_SIZE}x${NVENC_PROBE_SIZE}`,
    );
    const codec = probe.outputOptions.slice(
      probe.outputOptions.indexOf('-c:v'),
      probe.outputOptions.indexOf('-c:v') + NVENC_CODEC_OPTIONS.length,
    );
    expect(codec).toEqual(NVENC_CODEC_OPTIONS);
    expect(valueAfter(probe.outputOptions, '-frames:v')).toBe('1');
    expect(valueAfter(probe.outputOptions, '-f')).toBe('null');
  });
});

describe('posterArguments', () => {
  it('takes one frame, scales it down to the long side (never up) and writes one JPEG', () => {
    const args = posterArguments(640);
    expect(args.inputOptions).toEqual([]);
    expect(valueAfter(args.outputOptions, '-frames:v')).toBe('1');
    expect(valueAfter(args.outputOptions, '-vf')).toBe(
      "scale=w='min(iw,640)':h='min(ih,640)':force_original_aspect_ratio=decrease",
    );
    expect(valueAfter(args.outputOptions, '-c:v')).toBe('mjpeg');
    expect(valueAfter(args.outputOptions, '-f')).toBe('image2pipe');
  });

  it('refuses a long side too small to be a picture', () => {
    expect(() => posterArguments(8)).toThrow(RangeError);
    expect(() => posterArguments(100.5)).toThrow(RangeError);
  });
});
