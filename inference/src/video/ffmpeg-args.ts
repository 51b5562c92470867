/**
 * ffmpeg's arguments for turning raw frames into a browser-friendly MP4, as pure data: the
 * writer passes them to fluent-ffmpeg, and tests check them without running anything.
 */

/**
 * The H.264 encoders Zeus can write MP4s with: x264 on the CPU (always there), or NVIDIA's NVENC,
 * the GPU's own video encoder, where the GPU, its driver and ffmpeg's build offer it (see
 * encoder-choice.ts for how the worker picks one).
 */
export const VIDEO_ENCODERS = ['libx264', 'nvenc'] as const;
export type VideoEncoder = (typeof VIDEO_ENCODERS)[number];

export interface Mp4Encoding {
  readonly width: number;
  readonly height: number;
  readonly frameRate: number;
  /** libx264 unless given. `crf`, `preset` and `tune` are x264's: refused with `nvenc`. */
  readonly encoder?: VideoEncoder;
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

/**
 * NVENC's settings (ffmpeg's h264_nvenc; names as `ffmpeg -h encoder=h264_nvenc` lists them).
 * Chosen from NVIDIA's and ffmpeg's documentation, not measured: no GPU was at hand
 * (docs/BENCHMARKS.md).
 * - `-preset p4 -tune hq`: NVENC's default speed/quality point and its tuning for files rather
 *   than streams. The low-latency tunings (`ll`, `ull`) buy latency inside a stream's rate
 *   control; a finished file gains nothing from them, and the encoder's tail is short anyway
 *   (next point).
 * - `-bf 0`, and no `-rc-lookahead` (0 by default): nothing is held back for reordering or look
 *   ahead, so when the last frame arrives only the frames already on the GPU remain to encode,
 *   as `-tune zerolatency` does for x264. B-frames would make files somewhat smaller, by an
 *   amount not measured here.
 * - `-rc vbr -cq 19 -b:v 0`: constant quality, like x264's CRF (19 is the value commonly given as
 *   visually close to lossless; the scales are not the same). `-b:v 0` lifts h264_nvenc's default
 *   2 Mbit/s target, which would otherwise cap the quality.
 * - `-profile:v high`: what x264 writes too (h264_nvenc defaults to main); every browser plays it.
 */
export const NVENC_CODEC_OPTIONS: readonly string[] = [
  '-c:v',
  'h264_nvenc',
  '-preset',
  'p4',
  '-tune',
  'hq',
  '-rc',
  'vbr',
  '-cq',
  '19',
  '-b:v',
  '0',
  '-bf',
  '0',
  '-profile:v',
  'high',
];

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
    inputOptions: rawFramesInput(width, height, frameRate),
    outputOptions: [
      '-an',
      ...codecOptions(encoding),
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

/** Width and height of the probe's frame: above the smallest picture any NVENC accepts. */
export const NVENC_PROBE_SIZE = 256;

/**
 * Whether NVENC works here, asked the way the worker would use it: one black frame, piped in as
 * the worker pipes frames, through NVENC with the settings above, to nowhere. A GPU or driver
 * that cannot do one of those settings fails this, rather than every job.
 */
export function nvencProbeArguments(): FfmpegArguments {
  return {
    inputOptions: rawFramesInput(NVENC_PROBE_SIZE, NVENC_PROBE_SIZE, 25),
    outputOptions: [
      '-an',
      ...NVENC_CODEC_OPTIONS,
      '-pix_fmt',
      'yuv420p',
      '-frames:v',
      '1',
      '-f',
      'null',
    ],
  };
}

function rawFramesInput(width: number, height: number, frameRate: number): string[] {
  return [
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-video_size',
    `${width}x${height}`,
    '-framerate',
    String(frameRate),
  ];
}

function codecOptions(encoding: Mp4Encoding): readonly string[] {
  if (encoding.encoder === 'nvenc') {
    for (const option of ['crf', 'preset', 'tune'] as const) {
      if (encoding[option] !== undefined) {
        throw new RangeError(`${option} is an x264 setting; NVENC has its own.`);
      }
    }
    return NVENC_CODEC_OPTIONS;
  }
  return [
    '-c:v',
    'libx264',
    '-preset',
    encoding.preset ?? 'veryfast',
    ...(encoding.tune === null ? [] : ['-tune', encoding.tune ?? 'zerolatency']),
    '-crf',
    String(encoding.crf ?? 18),
  ];
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

/** The longest side of a video's poster: sharp on a card two device pixels per CSS pixel. */
export const POSTER_MAX_SIDE = 640;

/**
 * A video's poster: its first frame (what the player shows when play starts, so nothing jumps),
 * scaled down to at most `maxSide` pixels on its long side (never up), as one JPEG on stdout.
 * JPEG rather than WebP: every ffmpeg build has its encoder (mjpeg), and every browser reads it.
 */
export function posterArguments(maxSide: number = POSTER_MAX_SIDE): FfmpegArguments {
  if (!Number.isInteger(maxSide) || maxSide < 16) {
    throw new RangeError(`A poster needs a long side of 16 pixels or more (got ${maxSide}).`);
  }
  return {
    inputOptions: [],
    outputOptions: [
      '-an',
      '-frames:v',
      '1',
      '-vf',
      `scale=w='min(iw,${maxSide})':h='min(ih,${maxSide})':force_original_aspect_ratio=decrease`,
      '-c:v',
      'mjpeg',
      // Full-range 4:2:0, JPEG's own: without it ffmpeg converts and warns about the format.
      '-pix_fmt',
      'yuvj420p',
      // mjpeg's quality scale: 2 (best) to 31; 4 keeps a 640 px frame near 30–60 KB.
      '-q:v',
      '4',
      '-f',
      'image2pipe',
    ],
  };
}
