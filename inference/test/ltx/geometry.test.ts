import { describe, expect, it } from 'vitest';
import {
  cropFloatVideo,
  cropFrame,
  GeometryError,
  isIdentityCrop,
  videoGeometry,
} from '../../src/ltx/geometry.ts';

const scale = { spatial: 32, temporal: 8 };

describe('videoGeometry (inference.py: pad up, centre-crop back, cut frames from the end)', () => {
  it('leaves sizes the VAE makes directly alone', () => {
    const geometry = videoGeometry({ width: 768, height: 512, numFrames: 121 }, scale);
    expect(geometry.generated).toEqual({ width: 768, height: 512, frames: 121 });
    expect([geometry.top, geometry.left]).toEqual([0, 0]);
    expect(isIdentityCrop(geometry)).toBe(true);
  });

  it('rounds up to multiples of 32 and to 8k+1 frames, the floor of the padding on top/left', () => {
    const geometry = videoGeometry({ width: 80, height: 50, numFrames: 14 }, scale);
    expect(geometry.generated).toEqual({ width: 96, height: 64, frames: 17 });
    expect(geometry.top).toBe(7); // 14 rows of padding: 7 above, 7 below
    expect(geometry.left).toBe(8);
    expect(videoGeometry({ width: 33, height: 31, numFrames: 9 }, scale)).toMatchObject({
      generated: { width: 64, height: 32, frames: 9 },
      top: 0, // 1 row: 0 above, 1 below
      left: 15, // 31 columns: 15 left, 16 right
    });
    // inference.py's ((n − 2) // 8 + 1)·8 + 1 for n = 1, 2, 9, 10.
    expect(
      [1, 2, 9, 10].map(
        (n) => videoGeometry({ width: 32, height: 32, numFrames: n }, scale).generated.frames,
      ),
    ).toEqual([1, 9, 9, 17]);
  });

  it('refuses sizes that are not positive whole numbers', () => {
    expect(() => videoGeometry({ width: 0, height: 32, numFrames: 9 }, scale)).toThrow(
      GeometryError,
    );
    expect(() => videoGeometry({ width: 32, height: 3.5, numFrames: 9 }, scale)).toThrow(/height/);
  });
});

describe('cropFrame and cropFloatVideo', () => {
  const geometry = videoGeometry(
    { width: 2, height: 1, numFrames: 1 },
    { spatial: 4, temporal: 8 },
  );
  // Generated 4x4: pixel (y, x) has the bytes [y, x, y * 4 + x].
  const frame = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => {
    const pixel = Math.floor(i / 3);
    const [y, x] = [Math.floor(pixel / 4), pixel % 4];
    return [y, x, pixel][i % 3] ?? 0;
  });

  it('takes the centre rows and columns of an RGB24 frame', () => {
    expect([geometry.top, geometry.left]).toEqual([1, 1]);
    expect(Array.from(cropFrame(geometry, frame))).toEqual([1, 1, 5, 1, 2, 6]);
  });

  it('copies even when nothing is cropped, so the caller owns the frame', () => {
    const whole = videoGeometry({ width: 4, height: 4, numFrames: 1 }, { spatial: 4, temporal: 8 });
    const copy = cropFrame(whole, frame);
    expect(copy).toEqual(frame);
    expect(copy.buffer).not.toBe(frame.buffer);
  });

  it('rejects a frame of the wrong size', () => {
    expect(() => cropFrame(geometry, frame.subarray(3))).toThrow(/expected 48/);
  });

  it('crops every plane of a channels-first float video', () => {
    const video = Float32Array.from({ length: 3 * 2 * 16 }, (_, i) => i);
    const out = cropFloatVideo(geometry, video, 2);
    expect(Array.from(out)).toEqual([5, 6, 21, 22, 37, 38, 53, 54, 69, 70, 85, 86]);
  });
});
