/**
 * A first-frame image made ready for the VAE encoder exactly the way the official inference.py
 * prepares a conditioning image (`prepare_conditioning` → `load_media_file(just_crop=True)` →
 * `load_image_to_tensor_with_resize_and_crop`, then the pipeline's `_resize_conditioning_item`):
 *
 * 1. decode to RGB (core's decodeImageRgb);
 * 2. centre-crop to the video's aspect ratio, sizes truncated to whole pixels, no resize yet;
 * 3. to [0, 1], Gaussian blur (kernel 3, σ 1, reflected borders; torchvision's gaussian_blur);
 * 4. "CRF compression": cut to even sides, ⌊255·x⌋ to bytes, one H.264 frame at CRF 29 and back
 *    (`crf_compressor.compress`, ffmpeg here);
 * 5. to [−1, 1] (x/255·255/127.5 − 1, in float32 as torch does);
 * 6. bilinear resize to the video's size (F.interpolate, align_corners=False, no antialiasing).
 *
 * Sizes needing no crop of the generated video (the only ones Zeus accepts) need no padding, so
 * inference.py's padding step is the identity and is left out. Steps 2–3 and 5–6 are pure and
 * here; 1 and 4 are given as functions so tests can run the pure parts alone.
 */
import { decodeImageRgb, type RgbImage } from '@zeus/core';
import { compressStill } from '../video/still-compression.ts';

const f32 = Math.fround;

/** inference.py's CRF for conditioning images. */
export const CONDITIONING_IMAGE_CRF = 29;

export interface CropRectangle {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The centre crop to the target's aspect ratio (load_image_to_tensor_with_resize_and_crop). */
export function officialCrop(
  inputWidth: number,
  inputHeight: number,
  targetWidth: number,
  targetHeight: number,
): CropRectangle {
  const targetAspect = targetWidth / targetHeight;
  const frameAspect = inputWidth / inputHeight;
  if (frameAspect > targetAspect) {
    const width = Math.trunc(inputHeight * targetAspect);
    return { x: Math.floor((inputWidth - width) / 2), y: 0, width, height: inputHeight };
  }
  const height = Math.trunc(inputWidth / targetAspect);
  return { x: 0, y: Math.floor((inputHeight - height) / 2), width: inputWidth, height };
}

/** Planar float image [3, height, width]. */
export interface PlanarImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** The crop of an RGB24 image as planar [0, 1] floats (`TVF.to_tensor`). */
export function cropToPlanar(image: RgbImage, crop: CropRectangle): PlanarImage {
  const { width, height } = crop;
  if (width < 1 || height < 1) throw new RangeError(`Empty crop ${width}×${height}`);
  const data = new Float32Array(3 * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = ((crop.y + y) * image.width + crop.x + x) * 3;
      for (let c = 0; c < 3; c++) {
        data[(c * height + y) * width + x] = f32((image.data[from + c] ?? 0) / 255);
      }
    }
  }
  return { data, width, height };
}

/** torchvision's Gaussian kernel of size 3, σ 1, in float32: exp(−x²/2) normalised. */
function gaussianKernel(): [number, number, number] {
  const side = f32(Math.exp(-0.5));
  const sum = f32(f32(side + 1) + side);
  return [f32(side / sum), f32(1 / sum), f32(side / sum)];
}

/** Gaussian blur, kernel 3, σ 1, reflect-padded borders (torchvision gaussian_blur). */
export function gaussianBlur(image: PlanarImage): PlanarImage {
  const { width, height } = image;
  const k = gaussianKernel();
  const reflect = (i: number, size: number): number =>
    size === 1 ? 0 : i < 0 ? -i : i >= size ? 2 * size - 2 - i : i;
  const out = new Float32Array(image.data.length);
  for (let c = 0; c < 3; c++) {
    const plane = c * width * height;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          const row = plane + reflect(y + dy, height) * width;
          const wy = k[dy + 1] ?? 0;
          for (let dx = -1; dx <= 1; dx++) {
            sum += f32(wy * (k[dx + 1] ?? 0)) * (image.data[row + reflect(x + dx, width)] ?? 0);
          }
        }
        out[plane + y * width + x] = f32(sum);
      }
    }
  }
  return { data: out, width, height };
}

/**
 * crf_compressor's input: even sides (the last row/column of odd ones dropped) and
 * `(x·255).byte()`, truncating, as interleaved RGB24.
 */
export function toEvenBytes(image: PlanarImage): RgbImage {
  const width = Math.floor(image.width / 2) * 2;
  const height = Math.floor(image.height / 2) * 2;
  if (width < 2 || height < 2)
    throw new RangeError(`A ${image.width}×${image.height} crop is too small`);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const value = f32((image.data[(c * image.height + y) * image.width + x] ?? 0) * 255);
        data[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, Math.trunc(value)));
      }
    }
  }
  return { data, width, height };
}

/**
 * The compressed bytes to [−1, 1] (`/255`, `·255`, `/127.5 − 1` in float32), then bilinear to
 * `width × height` like F.interpolate(mode="bilinear", align_corners=False): planar [3, H, W].
 */
export function toModelInput(image: RgbImage, width: number, height: number): PlanarImage {
  const source = new Float32Array(3 * image.width * image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 3; c++) {
      const unit = f32((image.data[i * 3 + c] ?? 0) / 255);
      source[c * image.width * image.height + i] = f32(f32(f32(unit * 255) / 127.5) - 1);
    }
  }
  if (image.width === width && image.height === height) {
    return { data: source, width, height };
  }
  const out = new Float32Array(3 * width * height);
  const { index0: y0, index1: y1, lambda1: ly } = bilinearAxis(image.height, height);
  const { index0: x0, index1: x1, lambda1: lx } = bilinearAxis(image.width, width);
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const h1 = ly[y] ?? 0;
      const h0 = f32(1 - h1);
      const top = c * plane + (y0[y] ?? 0) * image.width;
      const bottom = c * plane + (y1[y] ?? 0) * image.width;
      for (let x = 0; x < width; x++) {
        const w1 = lx[x] ?? 0;
        const w0 = f32(1 - w1);
        const a = x0[x] ?? 0;
        const b = x1[x] ?? 0;
        const upper = f32(f32(w0 * (source[top + a] ?? 0)) + f32(w1 * (source[top + b] ?? 0)));
        const lower = f32(
          f32(w0 * (source[bottom + a] ?? 0)) + f32(w1 * (source[bottom + b] ?? 0)),
        );
        out[(c * height + y) * width + x] = f32(f32(h0 * upper) + f32(h1 * lower));
      }
    }
  }
  return { data: out, width, height };
}

/** Source rows (or columns) and weights of a bilinear resize, as PyTorch's CPU kernel forms them. */
function bilinearAxis(
  inSize: number,
  outSize: number,
): { index0: Int32Array; index1: Int32Array; lambda1: Float32Array } {
  const scale = f32(inSize / outSize);
  const index0 = new Int32Array(outSize);
  const index1 = new Int32Array(outSize);
  const lambda1 = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const real = Math.max(f32(f32(scale * f32(o + 0.5)) - 0.5), 0);
    const i0 = Math.trunc(real);
    index0[o] = i0;
    index1[o] = i0 < inSize - 1 ? i0 + 1 : i0;
    lambda1[o] = f32(real - i0);
  }
  return { index0, index1, lambda1 };
}

export interface FirstFrameSteps {
  readonly decode: (bytes: Uint8Array) => Promise<RgbImage>;
  readonly compress: (image: RgbImage, crf: number) => Promise<RgbImage>;
}

/** The real steps: sharp to decode, ffmpeg to compress. */
export const FIRST_FRAME_STEPS: FirstFrameSteps = {
  decode: (bytes) => decodeImageRgb(bytes),
  compress: async (image, crf) => ({
    ...image,
    data: await compressStill(image.data, image.width, image.height, crf),
  }),
};

/**
 * An uploaded image as the encoder's input for a `width × height` video: planar [3, H, W] in
 * [−1, 1] (a one-frame video [1, 3, 1, H, W]).
 */
export async function prepareFirstFrame(
  bytes: Uint8Array,
  width: number,
  height: number,
  steps: FirstFrameSteps = FIRST_FRAME_STEPS,
): Promise<PlanarImage> {
  const decoded = await steps.decode(bytes);
  const crop = officialCrop(decoded.width, decoded.height, width, height);
  const blurred = gaussianBlur(cropToPlanar(decoded, crop));
  const compressed = await steps.compress(toEvenBytes(blurred), CONDITIONING_IMAGE_CRF);
  return toModelInput(compressed, width, height);
}
