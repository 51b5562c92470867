import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decodeImageRgb,
  encodeJpeg,
  ImageRejectedError,
  inspectImage,
  sniffImageType,
  type ImageRule,
} from './images.ts';

const MAX_BYTES = 1_000_000;

/** A 48×32 gradient (red across, green down), with an optional alpha channel. */
async function gradient(
  format: 'png' | 'jpeg' | 'webp' | 'gif',
  options: { width?: number; height?: number; alpha?: boolean } = {},
): Promise<Buffer> {
  const width = options.width ?? 48;
  const height = options.height ?? 32;
  const channels = options.alpha === true ? 4 : 3;
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      pixels[i] = Math.round((255 * x) / (width - 1));
      pixels[i + 1] = Math.round((255 * y) / (height - 1));
      pixels[i + 2] = 64;
      if (channels === 4) pixels[i + 3] = x < width / 2 ? 0 : 255;
    }
  }
  return sharp(pixels, { raw: { width, height, channels } }).toFormat(format).toBuffer();
}

async function rejection(promise: Promise<unknown>): Promise<ImageRejectedError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImageRejectedError);
  return error as ImageRejectedError;
}

async function expectRule(bytes: Uint8Array, code: string, rule: ImageRule): Promise<void> {
  const error = await rejection(inspectImage(bytes, MAX_BYTES));
  expect(error.code).toBe(code);
  expect(error.rule).toBe(rule);
  expect(error.details).toMatchObject({ field: 'image', rule });
}

describe('image type by content', () => {
  it('recognises PNG, JPEG and WebP by their signatures, nothing else', async () => {
    expect(sniffImageType(await gradient('png'))).toBe('png');
    expect(sniffImageType(await gradient('jpeg'))).toBe('jpeg');
    expect(sniffImageType(await gradient('webp'))).toBe('webp');
    expect(sniffImageType(await gradient('gif'))).toBeNull();
    expect(sniffImageType(Buffer.from('‰PNG but really text'))).toBeNull();
    expect(sniffImageType(new Uint8Array())).toBeNull();
  });
});

describe('inspectImage (uploads)', () => {
  it.each(['png', 'jpeg', 'webp'] as const)('accepts a %s and reports its size', async (type) => {
    const bytes = await gradient(type);
    expect(await inspectImage(bytes, MAX_BYTES)).toEqual({
      type,
      width: 48,
      height: 32,
      bytes: bytes.length,
    });
  });

  it('refuses each kind of bad image with its code and rule', async () => {
    await expectRule(new Uint8Array(), 'BAD_USER_INPUT', 'empty');
    await expectRule(await gradient('gif'), 'UNSUPPORTED_MEDIA_TYPE', 'imageType');
    await expectRule(Buffer.from('hello, not an image'), 'UNSUPPORTED_MEDIA_TYPE', 'imageType');
    const jpeg = await gradient('jpeg', { width: 400, height: 300 });
    await expectRule(jpeg.subarray(0, jpeg.length - 200), 'BAD_USER_INPUT', 'decodable');
    const png = await gradient('png');
    const garbled = Buffer.from(png);
    garbled.fill(7, 40, 90);
    await expectRule(garbled, 'BAD_USER_INPUT', 'decodable');
    await expectRule(
      await gradient('png', { width: 8, height: 8 }),
      'BAD_USER_INPUT',
      'dimensions',
    );
    await expectRule(
      await gradient('png', { width: 9000, height: 16 }),
      'BAD_USER_INPUT',
      'dimensions',
    );
    const big = await rejection(inspectImage(await gradient('png'), 100));
    expect(big.code).toBe('PAYLOAD_TOO_LARGE');
    expect(big.details).toMatchObject({ rule: 'maxBytes', limit: 100 });
  });
});

describe('decodeImageRgb', () => {
  it('gives RGB24 as inference.py does: alpha dropped, grey expanded', async () => {
    const rgba = await decodeImageRgb(await gradient('png', { alpha: true }));
    expect(rgba.width * rgba.height * 3).toBe(rgba.data.length);
    // The transparent left half keeps its colour (PIL's convert("RGB") drops alpha).
    expect(Array.from(rgba.data.subarray(0, 3))).toEqual([0, 0, 64]);
    const grey = await sharp(await gradient('png'))
      .greyscale()
      .png()
      .toBuffer();
    const expanded = await decodeImageRgb(grey);
    expect(expanded.data.length).toBe(48 * 32 * 3);
    expect(expanded.data[3]).toBe(expanded.data[4]);
  });

  it('applies the EXIF orientation (a phone photo is used as displayed)', async () => {
    const rotated = await sharp(await gradient('jpeg'))
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const decoded = await decodeImageRgb(rotated);
    expect([decoded.width, decoded.height]).toEqual([32, 48]);
    expect(await inspectImage(rotated, MAX_BYTES)).toMatchObject({ width: 32, height: 48 });
  });
});

describe('encodeJpeg', () => {
  it('encodes and scales RGB24 to a small JPEG', async () => {
    const image = await decodeImageRgb(await gradient('png'));
    const jpeg = await encodeJpeg(image, { resize: { width: 96, height: 64 }, quality: 70 });
    expect(sniffImageType(jpeg)).toBe('jpeg');
    expect(await sharp(jpeg).metadata()).toMatchObject({ width: 96, height: 64, format: 'jpeg' });
  });
});
