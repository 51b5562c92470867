/**
 * ffmpeg's arguments for turning raw frames into a browser-friendly MP4, as pure data: the
 * writer passes them to fluent-ffmpeg, and tests check them without running anything.
 */

export interface Mp4Encoding {
  readonly width: number;
  readonly height: number;
  readonly frameRate: number;
  /** x264 quality: lower is better and bigger (18 looks lossless to most eyes). */
  readonly crf?: number;
  /** x264 speed/size trade-off. */
  readonly preset?: X264Preset;
  /**
   * x264 tuning; null for none. The default, `zerolatency`, drops the lookahead and B-frames, so
   * each frame is written as soon as it is encoded and the MP4 is complete just after the last
   * frame arrives (docs/BENCHMARKS.md: 20–60 ms after it on a loaded 2-core machine, against
   * 90–320 ms without), for files about 40% larger at the same CRF.
   */
  readonly tune?: X264Tune | null;
}

export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];
export const X264_TUNES = ['zerolatency', 'fastdecode', 'film', 'animation'] as const;
export type X264Tune = (typeof X264_TUNES)[number];

export interface FfmpegArguments {
  /** Options describing the piped input (before `-i`). */
  readonly inputOptions: readonly string[];
  /** Options of the output file (after `-i`, before its name). */
  readonly outputOptions: readonly string[];
}

export function mp4Arguments(encoding: Mp4Encoding): FfmpegArguments {
  const { width, height, frameRate } = encoding;
  for (const [name, value] of [
    ['width', width],
    ['height', height],
    ['frameRate', frameRate],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(`${name} must be a positive whole number (got ${value}).`);
    }
  }
  if (width % 2 !== 0 || height % 2 !== 0) {
    // yuv420p stores colour at half resolution in both directions.
    throw new RangeError(`width and height must be even for yuv420p (got ${width}×${height}).`);
  }
  return {
    inputOptions: [
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-video_size',
      `${width}x${height}`,
      '-framerate',
      String(frameRate),
    ],
    outputOptions: [
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      encoding.preset ?? 'veryfast',
      ...(encoding.tune === null ? [] : ['-tune', encoding.tune ?? 'zerolatency']),
      '-crf',
      String(encoding.crf ?? 18),
      // 4:2:0 chroma: the only pixel format every browser and phone decodes.
      '-pix_fmt',
      'yuv420p',
      // The index (moov atom) at the front, so playback starts before the download ends.
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
    ],
  };
}

/**
 * One RGB24 picture through H.264 at `crf` and back, the way the official inference.py
 * degrades a conditioning image (`crf_compressor.compress`: libx264, preset veryfast, yuv420p,
 * CRF 29) so that it looks like a video frame: the encode's arguments (raw H.264 on stdout)…
 */
export function stillEncodeArguments(width: number, height: number, crf: number): FfmpegArguments {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
    throw new RangeError(`A picture of ${width}×${height} cannot be encoded.`);
  }
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw new RangeError(`width and height must be even for yuv420p (got ${width}×${height}).`);
  }
  return {
    inputOptions: ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${width}x${height}`],
    outputOptions: [
      '-an',
      '-frames:v',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      String(crf),
      '-pix_fmt',
      'yuv420p',
      // PyAV's reformat, which the reference uses for RGB → YUV and back, scales bilinearly.
      '-sws_flags',
      'bilinear',
      '-f',
      'h264',
    ],
  };
}

/** …and the decode's (raw H.264 in, RGB24 out). */
export function stillDecodeArguments(): FfmpegArguments {
  return {
    inputOptions: ['-f', 'h264'],
    outputOptions: [
      '-frames:v',
      '1',
      '-sws_flags',
      'bilinear',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
    ],
  };
}
