/**
 * The video the model makes for a requested size (docs/model/pipeline.md §3.1): inference.py
 * rounds the height and width up to multiples of the VAE's spatial factor (32) and the frame
 * count up to the next `8k + 1`, generates that, then centre-crops back — the padding split
 * floor/ceil between top/bottom and left/right (top and left get the floor) — and keeps the
 * first `numFrames` frames, cutting the rest from the end.
 *
 * Zeus' validation only admits sizes that need no padding, so the crop is usually the identity;
 * it is implemented for any size so the pipeline never depends on that.
 */
import type { VaeScaleFactors } from '../sampler/latents.ts';

export interface RequestedVideo {
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
}

export interface VideoGeometry {
  /** What was asked for: the frames the caller gets. */
  readonly requested: RequestedVideo;
  /** What the model generates: multiples of the spatial factor, `temporal·k + 1` frames. */
  readonly generated: { readonly width: number; readonly height: number; readonly frames: number };
  /** Rows cut from the top and columns from the left of each generated frame. */
  readonly top: number;
  readonly left: number;
}

export class GeometryError extends Error {
  override readonly name = 'GeometryError';
}

export function videoGeometry(requested: RequestedVideo, scale: VaeScaleFactors): VideoGeometry {
  const { width, height, numFrames } = requested;
  for (const [name, value] of [
    ['width', width],
    ['height', height],
    ['numFrames', numFrames],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new GeometryError(`${name} must be a positive whole number, got ${value}`);
    }
  }
  const roundUp = (value: number, multiple: number): number =>
    Math.ceil(value / multiple) * multiple;
  const generated = {
    width: roundUp(width, scale.spatial),
    height: roundUp(height, scale.spatial),
    // inference.py: ((n − 2) // 8 + 1)·8 + 1, i.e. the smallest 8k + 1 ≥ n.
    frames: roundUp(numFrames - 1, scale.temporal) + 1,
  };
  return {
    requested,
    generated,
    top: Math.floor((generated.height - height) / 2),
    left: Math.floor((generated.width - width) / 2),
  };
}

/** True when the generated frames are the requested ones as they are. */
export function isIdentityCrop(geometry: VideoGeometry): boolean {
  return (
    geometry.generated.width === geometry.requested.width &&
    geometry.generated.height === geometry.requested.height
  );
}

/**
 * One requested frame from a generated RGB24 frame (`generated.height × generated.width × 3`
 * bytes), as a new array the caller owns.
 */
export function cropFrame(geometry: VideoGeometry, frame: Uint8Array): Uint8Array {
  const { generated, requested, top, left } = geometry;
  const sourceRow = generated.width * 3;
  if (frame.length !== generated.height * sourceRow) {
    throw new GeometryError(
      `A frame has ${frame.length} bytes, expected ${generated.height * sourceRow} ` +
        `(${generated.width}x${generated.height} RGB24)`,
    );
  }
  if (isIdentityCrop(geometry)) return frame.slice();
  const row = requested.width * 3;
  const out = new Uint8Array(requested.height * row);
  for (let y = 0; y < requested.height; y++) {
    const from = (top + y) * sourceRow + left * 3;
    out.set(frame.subarray(from, from + row), y * row);
  }
  return out;
}

/**
 * Channels-first float video `[1, 3, count, generated.height, generated.width]` cropped to
 * `[1, 3, count, requested.height, requested.width]` (for comparisons with a reference).
 */
export function cropFloatVideo(
  geometry: VideoGeometry,
  video: Float32Array,
  count: number,
): Float32Array {
  const { generated, requested, top, left } = geometry;
  const plane = generated.height * generated.width;
  if (video.length !== 3 * count * plane) {
    throw new GeometryError(
      `The float video has ${video.length} values, expected ${3 * count * plane}`,
    );
  }
  if (isIdentityCrop(geometry)) return video;
  const out = new Float32Array(3 * count * requested.height * requested.width);
  let offset = 0;
  for (let plane3 = 0; plane3 < 3 * count; plane3++) {
    for (let y = 0; y < requested.height; y++) {
      const from = plane3 * plane + (top + y) * generated.width + left;
      out.set(video.subarray(from, from + requested.width), offset);
      offset += requested.width;
    }
  }
  return out;
}
