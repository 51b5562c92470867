import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  cropToPlanar,
  gaussianBlur,
  officialCrop,
  prepareFirstFrame,
  toEvenBytes,
  toModelInput,
} from '../../src/image/first-frame.ts';
import { stillDecodeArguments, stillEncodeArguments } from '../../src/video/ffmpeg-args.ts';
import { compressStill } from '../../src/video/still-compression.ts';

const f32 = Math.fround;

function gradientRgb(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / (width - 1));
      data[i + 1] = Math.round((255 * y) / (height - 1));
      data[i + 2] = 100;
    }
  }
  return data;
}

describe("inference.py's conditioning-image preparation", () => {
  it('crops to the video aspect ratio like load_image_to_tensor_with_resize_and_crop', () => {
    expect(officialCrop(1000, 500, 768, 512)).toEqual({ x: 125, y: 0, width: 750, height: 500 });
    expect(officialCrop(500, 1000, 768, 512)).toEqual({ x: 0, y: 333, width: 500, height: 333 });
    expect(officialCrop(768, 512, 768, 512)).toEqual({ x: 0, y: 0, width: 768, height: 512 });
    expect(officialCrop(1001, 1001, 256, 256)).toEqual({ x: 0, y: 0, width: 1001, height: 1001 });
  });

  it("blurs with torchvision's 3×3, σ 1 kernel and reflected borders", () => {
    const impulse = { data: new Float32Array(3 * 25), width: 5, height: 5 };
    impulse.data[12] = 1; // channel 0, centre
    const blurred = gaussianBlur(impulse);
    const k = [0.27406862, 0.45186276, 0.27406862];
    expect(blurred.data[12]).toBeCloseTo((k[1] ?? 0) * (k[1] ?? 0), 6);
    expect(blurred.data[7]).toBeCloseTo((k[0] ?? 0) * (k[1] ?? 0), 6);
    expect(blurred.data[0]).toBe(0);
    // Reflect: next to the border, an impulse one column in is read from both sides.
    const edge = { data: new Float32Array(3 * 25), width: 5, height: 5 };
    edge.data[1] = 1; // row 0, column 1
    expect(gaussianBlur(edge).data[0]).toBeCloseTo(2 * (k[1] ?? 0) * (k[0] ?? 0), 6);
    const flat = { data: new Float32Array(3 * 12).fill(0.5), width: 4, height: 3 };
    for (const value of gaussianBlur(flat).data) expect(value).toBeCloseTo(0.5, 6);
  });

  it('makes even-sided bytes by truncation, as crf_compressor does', () => {
    const image = { data: new Float32Array(3 * 15).fill(f32(254.99 / 255)), width: 5, height: 3 };
    const bytes = toEvenBytes(image);
    expect([bytes.width, bytes.height]).toEqual([4, 2]);
    expect(bytes.data.every((value) => value === 254)).toBe(true);
  });

  it('normalises to [−1, 1] and resizes bilinearly like F.interpolate(align_corners=False)', () => {
    const flat = { data: new Uint8Array(4 * 4 * 3).fill(255), width: 4, height: 4 };
    const same = toModelInput(flat, 4, 4);
    expect(same.data.every((value) => value === 1)).toBe(true);
    // 4 → 2 columns: output x samples source 0.5 and 2.5, the means of neighbour pairs.
    const ramp = { data: new Uint8Array(4 * 1 * 3), width: 4, height: 1 };
    for (let x = 0; x < 4; x++) ramp.data.fill(x * 51, x * 3, x * 3 + 3);
    const halved = toModelInput(ramp, 2, 1);
    const level = (byte: number): number => f32(f32(f32(f32(byte / 255) * 255) / 127.5) - 1);
    expect(halved.data[0]).toBeCloseTo((level(0) + level(51)) / 2, 6);
    expect(halved.data[1]).toBeCloseTo((level(102) + level(153)) / 2, 6);
    // Upscaling clamps at the borders: the first output equals the first source value.
    const doubled = toModelInput(ramp, 8, 1);
    expect(doubled.data[0]).toBe(level(0));
    expect(doubled.data[7]).toBe(level(153));
  });

  it('round-trips a picture through H.264 at CRF 29 with ffmpeg, close to the original', async () => {
    const rgb = gradientRgb(64, 48);
    const out = await compressStill(rgb, 64, 48, 29);
    expect(out).toHaveLength(rgb.length);
    let sum = 0;
    for (let i = 0; i < rgb.length; i++) sum += Math.abs((out[i] ?? 0) - (rgb[i] ?? 0));
    // CRF 29 and 4:2:0 chroma cost a few levels on average (measured 4.2), not more.
    expect(sum / rgb.length).toBeGreaterThan(0.5);
    expect(sum / rgb.length).toBeLessThan(8);
    expect(stillEncodeArguments(64, 48, 29).outputOptions).toEqual(
      expect.arrayContaining(['libx264', 'veryfast', '29', 'yuv420p', 'h264']),
    );
    expect(() => stillEncodeArguments(63, 48, 29)).toThrow(/even/);
    expect(stillDecodeArguments().outputOptions).toEqual(expect.arrayContaining(['rgb24']));
  });

  it('prepares an uploaded image as the encoder input of the video size', async () => {
    const png = await sharp(Buffer.from(gradientRgb(300, 150)), {
      raw: { width: 300, height: 150, channels: 3 },
    })
      .png()
      .toBuffer();
    const input = await prepareFirstFrame(png, 96, 64);
    expect([input.width, input.height]).toEqual([96, 64]);
    expect(input.data).toHaveLength(3 * 96 * 64);
    for (const value of input.data) {
      expect(value).toBeGreaterThanOrEqual(-1);
      expect(value).toBeLessThanOrEqual(1);
    }
    // The 3:2 centre of a 2:1 image: red rises left to right from about 1/8 to 7/8 of 255.
    const red = (x: number): number => input.data[32 * 96 + x] ?? Number.NaN;
    expect(red(0)).toBeCloseTo(2 * (37 / 255) - 1, 1);
    expect(red(95)).toBeCloseTo(2 * (218 / 255) - 1, 1);
    expect(red(95)).toBeGreaterThan(red(48));
    // Without the ffmpeg step the pure parts give nearly the same picture.
    const exact = await prepareFirstFrame(png, 96, 64, {
      decode: async (bytes) => {
        const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
        return { data, width: info.width, height: info.height };
      },
      compress: (image) => Promise.resolve(image),
    });
    let largest = 0;
    for (let i = 0; i < exact.data.length; i++) {
      largest = Math.max(largest, Math.abs((exact.data[i] ?? 0) - (input.data[i] ?? 0)));
    }
    expect(largest).toBeLessThan(0.15);
    expect(
      cropToPlanar(
        { data: gradientRgb(4, 4), width: 4, height: 4 },
        {
          x: 1,
          y: 1,
          width: 2,
          height: 2,
        },
      ).data[0],
    ).toBe(f32(85 / 255));
  });
});
