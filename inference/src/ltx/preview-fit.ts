/**
 * Fits the live-preview projection (preview.ts) of a model once, when it is converted, and keeps
 * it with the converted graphs (`<onnx>/ltx-preview-<dtype>-<key>/preview-projection.json`).
 *
 * What it is fitted on. Previews show x̂₀, the model's estimate of clean latents, which late in
 * sampling are latents of natural-looking video. Lacking real videos (and so that the fit is
 * reproducible), Zeus makes 16 synthetic ones — 9 frames of 192×192: smooth colour gradients,
 * low-frequency waves and soft coloured discs drifting over the frames — and encodes them with
 * the model's own VAE encoder (the posterior mean, normalised as the sampler's latents are).
 * Those latents are then decoded by the model's own VAE decoder exactly as the pipeline decodes
 * (decode timestep 0.05, no decode noise), and each latent cell's target is the mean colour of
 * the pixels it decodes to (1×32×32 for the first latent frame, 8×32×32 for the others).
 * Regressing the targets on the cells' 128 channels plus a bias by least squares (a tiny ridge
 * for conditioning) gives the projection: 1,152 samples for 387 numbers.
 *
 * Deterministic: the videos come from fixed formulas and seeds, the solve is float64 Cholesky,
 * and the encoder and decoder run on the sessions the pipeline loaded. The projection is kept
 * per checkpoint and precision, not per device: another execution provider would fit numbers
 * that differ only in float rounding (the parity check `preview` bounds the difference), so the
 * first device to load the model fits it and every other reuses it (a WebGPU adapter as slow
 * as SwiftShader then loads in seconds after a CPU run, and previews look the same on all).
 * The fitted and the best constant projection's errors are stored with it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertCached, SeededRandom, type ConversionEvent } from '@zeus/models';
import type { PreviewProjection } from './preview.ts';
import type { VaeDecoder } from './vae-decoder.ts';
import type { VaeEncoder } from './vae-encoder.ts';

/** Bump when the fit changes (videos, targets, solve): cached projections are refitted. */
const PREVIEW_FIT_VERSION = 3;
const PROJECTION_FILE = 'preview-projection.json';

export const PREVIEW_FIT_SETTINGS = {
  videos: 16,
  frames: 9,
  size: 192,
  decodeTimestep: 0.05,
  /** Ridge strength relative to the mean diagonal of XᵀX. */
  ridge: 1e-6,
} as const;

/** One fitting sample per latent cell: its channels and its decoded mean colour in [0, 1]. */
export interface PreviewSamples {
  readonly channels: number;
  readonly count: number;
  /** [count, channels] */
  readonly inputs: Float64Array;
  /** [count, 3] */
  readonly targets: Float64Array;
}

export interface PreviewFitResult {
  readonly projection: PreviewProjection;
  /** Mean squared error per colour value on the fitting samples, fitted and best constant. */
  readonly fittedMse: number;
  readonly constantMse: number;
  readonly samples: number;
}

/** Uniform numbers in [0, 1) for the synthetic videos' parameters. */
function random(seed: number): () => number {
  const generator = new SeededRandom(seed);
  return () => generator.uniform();
}

/**
 * Synthetic video `index`: [1, 3, frames, size, size] in [−1, 1], smooth colour fields with
 * some structure, moving a little from frame to frame.
 */
export function syntheticVideo(index: number, frames: number, size: number): Float32Array {
  const next = random(0x5eed + 7919 * index);
  const base = [next() * 1.6 - 0.8, next() * 1.6 - 0.8, next() * 1.6 - 0.8];
  const ramp = [next() * 2 - 1, next() * 2 - 1, next() * 2 - 1];
  const rampAngle = next() * 2 * Math.PI;
  const waves = Array.from({ length: 3 }, () => ({
    channel: Math.floor(next() * 3),
    amplitude: 0.2 + next() * 0.4,
    frequency: (1 + next() * 3) * ((2 * Math.PI) / size),
    angle: next() * 2 * Math.PI,
    phase: next() * 2 * Math.PI,
    speed: next() * 0.3,
  }));
  const discs = Array.from({ length: 4 }, () => ({
    x: next() * size,
    y: next() * size,
    radius: size * (0.08 + next() * 0.2),
    colour: [next() * 2 - 1, next() * 2 - 1, next() * 2 - 1],
    dx: (next() - 0.5) * 4,
    dy: (next() - 0.5) * 4,
  }));
  const out = new Float32Array(3 * frames * size * size);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const along =
          ((x - size / 2) * Math.cos(rampAngle) + (y - size / 2) * Math.sin(rampAngle)) / size;
        const value = [0, 1, 2].map((c) => (base[c] ?? 0) + (ramp[c] ?? 0) * along);
        for (const wave of waves) {
          const position = x * Math.cos(wave.angle) + y * Math.sin(wave.angle);
          value[wave.channel] =
            (value[wave.channel] ?? 0) +
            wave.amplitude * Math.sin(wave.frequency * position + wave.phase + wave.speed * f);
        }
        for (const disc of discs) {
          const distance = Math.hypot(x - (disc.x + disc.dx * f), y - (disc.y + disc.dy * f));
          const weight = 1 / (1 + Math.exp((distance - disc.radius) / 3));
          for (let c = 0; c < 3; c++) {
            value[c] = (value[c] ?? 0) * (1 - weight) + (disc.colour[c] ?? 0) * weight;
          }
        }
        for (let c = 0; c < 3; c++) {
          out[((c * frames + f) * size + y) * size + x] = Math.max(-1, Math.min(1, value[c] ?? 0));
        }
      }
    }
  }
  return out;
}

/**
 * Mean colour in [0, 1] of the pixels each latent cell decodes to: `frames` RGB24
 * [videoFrames, H, W, 3] for latents of `latentFrames × latentHeight × latentWidth`.
 */
export function blockMeans(
  frames: Uint8Array,
  video: { frames: number; height: number; width: number },
  latent: { frames: number; height: number; width: number },
  temporal: number,
): Float64Array {
  const out = new Float64Array(latent.frames * latent.height * latent.width * 3);
  const cellH = video.height / latent.height;
  const cellW = video.width / latent.width;
  for (let f = 0; f < latent.frames; f++) {
    // Latent frame 0 covers video frame 0; frame f ≥ 1 covers 8(f − 1) + 1 … 8f.
    const first = f === 0 ? 0 : temporal * (f - 1) + 1;
    const last = f === 0 ? 0 : temporal * f;
    for (let h = 0; h < latent.height; h++) {
      for (let w = 0; w < latent.width; w++) {
        const sums = [0, 0, 0];
        let count = 0;
        for (let t = first; t <= last; t++) {
          for (let y = h * cellH; y < (h + 1) * cellH; y++) {
            for (let x = w * cellW; x < (w + 1) * cellW; x++) {
              const i = ((t * video.height + y) * video.width + x) * 3;
              for (let c = 0; c < 3; c++) sums[c] = (sums[c] ?? 0) + (frames[i + c] ?? 0);
              count++;
            }
          }
        }
        const cell = (f * latent.height + h) * latent.width + w;
        for (let c = 0; c < 3; c++) out[cell * 3 + c] = (sums[c] ?? 0) / count / 255;
      }
    }
  }
  return out;
}

/** Least squares fit of targets ≈ W·inputs + b (ridge on W only), solved in float64. */
export function fitProjection(samples: PreviewSamples, ridge: number): PreviewFitResult {
  const { channels, count, inputs, targets } = samples;
  const dim = channels + 1;
  if (count < dim) throw new Error(`${count} samples cannot fit ${dim} parameters`);
  const gram = new Float64Array(dim * dim);
  const moment = new Float64Array(dim * 3);
  const row = new Float64Array(dim);
  for (let s = 0; s < count; s++) {
    for (let c = 0; c < channels; c++) row[c] = inputs[s * channels + c] ?? 0;
    row[channels] = 1;
    for (let i = 0; i < dim; i++) {
      const ri = row[i] ?? 0;
      for (let j = 0; j <= i; j++)
        gram[i * dim + j] = (gram[i * dim + j] ?? 0) + ri * (row[j] ?? 0);
      for (let k = 0; k < 3; k++) {
        moment[i * 3 + k] = (moment[i * 3 + k] ?? 0) + ri * (targets[s * 3 + k] ?? 0);
      }
    }
  }
  let trace = 0;
  for (let i = 0; i < channels; i++) trace += gram[i * dim + i] ?? 0;
  const lambda = (ridge * trace) / channels;
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < i; j++) gram[j * dim + i] = gram[i * dim + j] ?? 0;
    if (i < channels) gram[i * dim + i] = (gram[i * dim + i] ?? 0) + lambda;
  }
  const solution = choleskySolve(gram, moment, dim, 3);
  const weights = new Float32Array(3 * channels);
  const bias = new Float32Array(3);
  for (let k = 0; k < 3; k++) {
    for (let c = 0; c < channels; c++) weights[k * channels + c] = solution[c * 3 + k] ?? 0;
    bias[k] = solution[channels * 3 + k] ?? 0;
  }
  const projection: PreviewProjection = { channels, weights, bias };
  const mean = [0, 0, 0];
  for (let s = 0; s < count; s++) {
    for (let k = 0; k < 3; k++) mean[k] = (mean[k] ?? 0) + (targets[s * 3 + k] ?? 0) / count;
  }
  return {
    projection,
    fittedMse: projectionError(projection, samples),
    constantMse: projectionError(
      { channels, weights: new Float32Array(3 * channels), bias: Float32Array.from(mean) },
      samples,
    ),
    samples: count,
  };
}

/** Mean squared error per colour value of a projection on samples (unclamped). */
export function projectionError(projection: PreviewProjection, samples: PreviewSamples): number {
  const { channels, count, inputs, targets } = samples;
  let sum = 0;
  for (let s = 0; s < count; s++) {
    for (let k = 0; k < 3; k++) {
      let value = projection.bias[k] ?? 0;
      for (let c = 0; c < channels; c++) {
        value += (projection.weights[k * channels + c] ?? 0) * (inputs[s * channels + c] ?? 0);
      }
      sum += (value - (targets[s * 3 + k] ?? 0)) ** 2;
    }
  }
  return sum / (count * 3);
}

/** Solves A·X = B for symmetric positive definite A [n, n] and B [n, m]. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j] ?? 0;
      for (let k = 0; k < j; k++) sum -= (l[i * n + k] ?? 0) * (l[j * n + k] ?? 0);
      if (i === j) {
        if (!(sum > 0)) throw new Error('The preview fit is singular');
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / (l[j * n + j] ?? 1);
      }
    }
  }
  const x = new Float64Array(n * m);
  for (let col = 0; col < m; col++) {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = b[i * m + col] ?? 0;
      for (let k = 0; k < i; k++) sum -= (l[i * n + k] ?? 0) * (y[k] ?? 0);
      y[i] = sum / (l[i * n + i] ?? 1);
    }
    for (let i = n - 1; i >= 0; i--) {
      let sum = y[i] ?? 0;
      for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] ?? 0) * (x[k * m + col] ?? 0);
      x[i * m + col] = sum / (l[i * n + i] ?? 1);
    }
  }
  return x;
}

/** Encodes and decodes synthetic videos `first` … `first + count − 1` into fitting samples. */
export async function collectPreviewSamples(
  encoder: VaeEncoder,
  decoder: VaeDecoder,
  options: {
    readonly first?: number;
    readonly count?: number;
    /** Smaller videos than the fit's (parity checks); default PREVIEW_FIT_SETTINGS'. */
    readonly size?: number;
    readonly frames?: number;
  } = {},
): Promise<PreviewSamples> {
  const { decodeTimestep } = PREVIEW_FIT_SETTINGS;
  const size = options.size ?? PREVIEW_FIT_SETTINGS.size;
  const frames = options.frames ?? PREVIEW_FIT_SETTINGS.frames;
  const first = options.first ?? 0;
  const count = options.count ?? PREVIEW_FIT_SETTINGS.videos;
  const channels = encoder.config.latentChannels;
  const inputs: number[] = [];
  const targets: number[] = [];
  for (let index = first; index < first + count; index++) {
    const videoShape = [1, 3, frames, size, size];
    const encoded = await encoder.encode({
      data: syntheticVideo(index, frames, size),
      shape: videoShape,
    });
    const [, , latentFrames, latentHeight, latentWidth] = encoded.shape;
    const decoded = await decoder.decode(
      { data: encoded.latents, shape: encoded.shape },
      { data: new Float32Array(encoded.latents.length), shape: encoded.shape },
      { timestep: decodeTimestep, noiseScale: 0 },
    );
    const means = blockMeans(
      decoded.frames,
      { frames: decoded.count, height: decoded.height, width: decoded.width },
      { frames: latentFrames, height: latentHeight, width: latentWidth },
      encoder.config.temporalScaleFactor,
    );
    const cells = latentFrames * latentHeight * latentWidth;
    for (let cell = 0; cell < cells; cell++) {
      for (let c = 0; c < channels; c++) inputs.push(encoded.latents[c * cells + cell] ?? 0);
      for (let k = 0; k < 3; k++) targets.push(means[cell * 3 + k] ?? 0);
    }
  }
  return {
    channels,
    count: targets.length / 3,
    inputs: Float64Array.from(inputs),
    targets: Float64Array.from(targets),
  };
}

/** Fits the projection with a model's encoder and decoder. */
export async function fitPreviewProjection(
  encoder: VaeEncoder,
  decoder: VaeDecoder,
): Promise<PreviewFitResult> {
  return fitProjection(await collectPreviewSamples(encoder, decoder), PREVIEW_FIT_SETTINGS.ridge);
}

interface ProjectionFile {
  readonly format: number;
  readonly channels: number;
  readonly weights: number[];
  readonly bias: number[];
  readonly fittedMse: number;
  readonly constantMse: number;
  readonly samples: number;
}

/**
 * The model's preview projection from the conversion cache, fitted there first when missing
 * (keyed on the checkpoint and the precision, see the module comment).
 */
export async function cachedPreviewProjection(options: {
  readonly checkpointPath: string;
  readonly cacheRoot: string;
  readonly dtype: 'float32' | 'float16';
  readonly encoder: VaeEncoder;
  readonly decoder: VaeDecoder;
  readonly onProgress?: (event: ConversionEvent) => void;
}): Promise<PreviewFitResult> {
  const converted = await convertCached({
    cacheRoot: options.cacheRoot,
    component: 'ltx-preview',
    dtype: options.dtype === 'float32' ? 'fp32' : 'fp16',
    converterVersion: PREVIEW_FIT_VERSION,
    sources: [options.checkpointPath],
    options: { settings: PREVIEW_FIT_SETTINGS },
    modelFile: PROJECTION_FILE,
    build: async (dir, onProgress) => {
      const fit = await fitPreviewProjection(options.encoder, options.decoder);
      const file: ProjectionFile = {
        format: 1,
        channels: fit.projection.channels,
        weights: Array.from(fit.projection.weights),
        bias: Array.from(fit.projection.bias),
        fittedMse: fit.fittedMse,
        constantMse: fit.constantMse,
        samples: fit.samples,
      };
      const text = `${JSON.stringify(file)}\n`;
      await writeFile(join(dir, PROJECTION_FILE), text);
      onProgress(text.length, text.length);
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const file = JSON.parse(await readFile(converted.modelPath, 'utf8')) as ProjectionFile;
  if (file.format !== 1 || file.weights.length !== 3 * file.channels) {
    throw new Error(`${converted.modelPath} is not a preview projection this Zeus reads`);
  }
  return {
    projection: {
      channels: file.channels,
      weights: Float32Array.from(file.weights),
      bias: Float32Array.from(file.bias),
    },
    fittedMse: file.fittedMse,
    constantMse: file.constantMse,
    samples: file.samples,
  };
}
