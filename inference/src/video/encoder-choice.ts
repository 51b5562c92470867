/**
 * Which H.264 encoder the worker uses (ZEUS_VIDEO_ENCODER), decided once at start: `auto` takes
 * NVENC when a one-frame encode through it works here and libx264 otherwise; `libx264` never
 * asks; `nvenc` insists, and a worker where it does not work refuses to start rather than fail
 * every job. The decision is pure; asking ffmpeg is nvenc-probe.ts's.
 */
import { ConfigError } from '@zeus/core';
import type { VideoEncoder } from './ffmpeg-args.ts';

export const VIDEO_ENCODER_SETTINGS = ['auto', 'libx264', 'nvenc'] as const;
export type VideoEncoderSetting = (typeof VIDEO_ENCODER_SETTINGS)[number];

/** What a one-frame NVENC encode said: it worked, or why not (ffmpeg's own words). */
export type NvencProbeResult =
  { readonly works: true } | { readonly works: false; readonly reason: string };

export interface VideoEncoderChoice {
  readonly encoder: VideoEncoder;
  /** Why, for the log. */
  readonly reason: string;
}

/** The encoder for `setting`, given what the probe said (not needed for `libx264`). */
export function chooseVideoEncoder(
  setting: VideoEncoderSetting,
  probe: NvencProbeResult | undefined,
): VideoEncoderChoice {
  if (setting === 'libx264') {
    return { encoder: 'libx264', reason: 'ZEUS_VIDEO_ENCODER is libx264' };
  }
  if (probe === undefined) {
    throw new TypeError(`ZEUS_VIDEO_ENCODER=${setting} needs the NVENC probe's answer.`);
  }
  if (probe.works) {
    return {
      encoder: 'nvenc',
      reason:
        setting === 'nvenc'
          ? 'ZEUS_VIDEO_ENCODER is nvenc, and h264_nvenc encodes here'
          : 'h264_nvenc encodes here',
    };
  }
  if (setting === 'nvenc') {
    throw new ConfigError([
      `ZEUS_VIDEO_ENCODER is nvenc, but ffmpeg's h264_nvenc cannot encode here: ${probe.reason}`,
    ]);
  }
  return { encoder: 'libx264', reason: `h264_nvenc cannot encode here: ${probe.reason}` };
}

/** Asks the probe only when the setting needs it, then decides. */
export async function selectVideoEncoder(
  setting: VideoEncoderSetting,
  probe: () => Promise<NvencProbeResult>,
): Promise<VideoEncoderChoice> {
  return chooseVideoEncoder(setting, setting === 'libx264' ? undefined : await probe());
}
