/**
 * Still images: the one module that uses sharp (libvips). API servers check uploaded first-frame
 * images with it, workers decode them and encode live previews.
 *
 * Uploads are typed by their content (magic bytes), never by a name or a declared type, and
 * decoded defensively: the header's size is checked before any pixel is decoded (sharp's
 * `limitInputPixels`), truncated or corrupt data is an error, only the first frame of an
 * animated file is read, and checking an upload decodes it shrunk (JPEG shrink-on-load), so a
 * large photo costs little memory on an API server.
 *
 * Decoding gives what the official inference.py gets from `Image.open(path).convert("RGB")`
 * (alpha dropped, palette and grey expanded to RGB), with one deliberate difference: the EXIF
 * orientation is applied, so a phone photo is used the way it is displayed.
 */
import sharp, { type Sharp } from 'sharp';
import { ZeusError, type ApiErrorCode } from './errors.ts';

export const IMAGE_TYPES = ['png', 'jpeg', 'webp'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

export const IMAGE_MEDIA_TYPES: Readonly<Record<ImageType, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export interface ImageLimits {
  /** Each side at least this many pixels. */
  readonly minSide: number;
  /** Each side at most this many pixels. */
  readonly maxSide: number;
  /** Width × height at most this (checked from the header, before decoding). */
  readonly maxPixels: number;
}

/** 16 px to 8192 px a side and 40 megapixels: any photo, and nothing that floods memory. */
export const IMAGE_LIMITS: ImageLimits = { minSide: 16, maxSide: 8192, maxPixels: 40_000_000 };

/** Why an image was refused (`extensions.rule`). */
export type ImageRule = 'imageType' | 'maxBytes' | 'empty' | 'decodable' | 'dimensions';

/** An image Zeus will not use, with a stable code and the rule it breaks. */
export class ImageRejectedError extends ZeusError {
  override readonly name = 'ImageRejectedError';
  readonly rule: ImageRule;
  constructor(
    code: Extract<ApiErrorCode, 'BAD_USER_INPUT' | 'UNSUPPORTED_MEDIA_TYPE' | 'PAYLOAD_TOO_LARGE'>,
    rule: ImageRule,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { details: { field: 'image', rule, ...details } });
    this.rule = rule;
  }
}

/** The image's type from its first bytes, or null for anything else. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const startsWith = (signature: readonly number[], offset = 0): boolean =>
    bytes.length >= offset + signature.length &&
    signature.every((value, index) => bytes[offset + index] === value);
  if (startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith([0xff, 0xd8, 0xff])) return 'jpeg';
  // "RIFF" <size> "WEBP"
  if (startsWith([0x52, 0x49, 0x46, 0x46]) && startsWith([0x57, 0x45, 0x42, 0x50], 8)) {
    return 'webp';
  }
  return null;
}

export interface ImageInfo {
  readonly type: ImageType;
  /** As displayed (after the EXIF orientation). */
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

export interface RgbImage {
  /** RGB24, rows top to bottom: width × height × 3 bytes. */
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Checks an upload: its type by content, its size against `maxBytes`, its header's dimensions
 * against `limits`, and that the whole image decodes. Throws ImageRejectedError.
 */
export async function inspectImage(
  bytes: Uint8Array,
  maxBytes: number,
  limits: ImageLimits = IMAGE_LIMITS,
): Promise<ImageInfo> {
  if (bytes.length === 0) {
    throw new ImageRejectedError('BAD_USER_INPUT', 'empty', 'The image is empty (0 bytes).');
  }
  if (bytes.length > maxBytes) {
    throw new ImageRejectedError(
      'PAYLOAD_TOO_LARGE',
      'maxBytes',
      `The image is ${bytes.length} bytes; at most ${maxBytes} bytes (${formatMiB(maxBytes)}) are accepted.`,
      { limit: maxBytes },
    );
  }
  const type = sniffImageType(bytes);
  if (type === null) {
    throw new ImageRejectedError(
      'UNSUPPORTED_MEDIA_TYPE',
      'imageType',
      'The file is not a PNG, JPEG or WebP image (judged by its content, not its name).',
      { accepted: Object.values(IMAGE_MEDIA_TYPES) },
    );
  }
  const { width, height } = await orientedSize(bytes, limits);
  // Decoding shrunk still reads every byte of the image data: truncation and corruption show.
  await run(() =>
    pipeline(bytes, limits)
      .resize({ width: 64, height: 64, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer(),
  );
  return { type, width, height, bytes: bytes.length };
}

/** Decodes a checked image to RGB24 as displayed (orientation applied, alpha dropped). */
export async function decodeImageRgb(
  bytes: Uint8Array,
  limits: ImageLimits = IMAGE_LIMITS,
): Promise<RgbImage> {
  if (sniffImageType(bytes) === null) {
    throw new ImageRejectedError(
      'UNSUPPORTED_MEDIA_TYPE',
      'imageType',
      'The file is not a PNG, JPEG or WebP image.',
    );
  }
  await orientedSize(bytes, limits);
  const { data, info } = await run(() =>
    pipeline(bytes, limits).raw().toBuffer({ resolveWithObject: true }),
  );
  if (info.channels !== 3) {
    throw new ImageRejectedError(
      'BAD_USER_INPUT',
      'decodable',
      `The image decoded to ${info.channels} channels, not RGB.`,
    );
  }
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

export interface JpegOptions {
  /** Scale to this size first (smoothly; latent previews are upscaled this way). */
  readonly resize?: { readonly width: number; readonly height: number };
  /** 1–100. Default 80. */
  readonly quality?: number;
}

/** Encodes RGB24 pixels as a baseline JPEG. */
export async function encodeJpeg(image: RgbImage, options: JpegOptions = {}): Promise<Buffer> {
  let encoder = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  if (options.resize !== undefined) {
    encoder = encoder.resize(options.resize.width, options.resize.height, {
      fit: 'fill',
      kernel: 'cubic',
    });
  }
  return encoder.jpeg({ quality: options.quality ?? 80, chromaSubsampling: '4:2:0' }).toBuffer();
}

/** The decode pipeline: bounded, first frame only, oriented, 8-bit sRGB without alpha. */
function pipeline(bytes: Uint8Array, limits: ImageLimits): Sharp {
  return sharp(bytes, {
    limitInputPixels: limits.maxPixels,
    failOn: 'truncated',
    animated: false,
    sequentialRead: true,
  })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb');
}

async function orientedSize(
  bytes: Uint8Array,
  limits: ImageLimits,
): Promise<{ width: number; height: number }> {
  const metadata = await run(() => sharp(bytes, { animated: false }).metadata());
  const swapped = (metadata.orientation ?? 1) >= 5;
  const width = swapped ? metadata.height : metadata.width;
  const height = swapped ? metadata.width : metadata.height;
  if (width === 0 || height === 0) {
    throw new ImageRejectedError('BAD_USER_INPUT', 'empty', 'The image has no pixels.');
  }
  const { minSide, maxSide, maxPixels } = limits;
  if (
    width < minSide ||
    height < minSide ||
    width > maxSide ||
    height > maxSide ||
    width * height > maxPixels
  ) {
    throw new ImageRejectedError(
      'BAD_USER_INPUT',
      'dimensions',
      `The image is ${width}×${height} pixels; each side must be ${minSide} to ${maxSide} ` +
        `pixels and the whole at most ${maxPixels / 1e6} megapixels.`,
      { width, height, minSide, maxSide, maxPixels },
    );
  }
  return { width, height };
}

/** Runs a sharp call; libvips' complaints become one clear, stable error. */
async function run<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ImageRejectedError) throw error;
    throw new ImageRejectedError(
      'BAD_USER_INPUT',
      'decodable',
      'The image could not be decoded: it is truncated or corrupt.',
    );
  }
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1048576) * 10) / 10} MiB`;
}
