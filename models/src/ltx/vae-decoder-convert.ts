/**
 * Converts the VAE decoder of a single-file checkpoint into its two graphs and their manifest
 * (vae-decoder-graph.ts, vae-manifest.ts), once per checkpoint, into the conversion cache.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertCached, type ConversionEvent } from '../convert/cache.ts';
import { LtxCheckpoint } from './checkpoint.ts';
import { parseVaeConfig, type VaeConfig } from './vae-config.ts';
import { buildVaeDecoderGraphs, type VaeGraphOptions } from './vae-decoder-graph.ts';
import {
  readVaeDecoderManifest,
  VAE_MANIFEST_FILE,
  type VaeDecoderManifest,
} from './vae-manifest.ts';
import {
  checkpointVaeWeights,
  VaeModelError,
  type VaeDtype,
  type VaeWeights,
} from './vae-weights.ts';

const FIRST_MODEL_FILE = 'model.onnx';
const NEXT_MODEL_FILE = 'next.onnx';
/** Bump when the graphs change for the same checkpoint (the conversion cache keys on it). */
const CONVERTER_VERSION = 3;

export interface BuildVaeOptions extends VaeGraphOptions {
  readonly onProgress?: (bytesWritten: number, bytesTotal: number) => void;
}

/** Writes the decoder graphs built from `weights` into `outDir`, with their manifest. */
export async function writeVaeDecoderOnnx(
  config: VaeConfig,
  weights: VaeWeights,
  outDir: string,
  options: BuildVaeOptions,
): Promise<VaeDecoderManifest> {
  const graphs = buildVaeDecoderGraphs(config, weights, options);
  let firstTotal = 0;
  await graphs.first.save(join(outDir, FIRST_MODEL_FILE), {
    onProgress: (written, total) => {
      firstTotal = total;
      options.onProgress?.(written, total + graphs.nextWeightBytes);
    },
  });
  await graphs.next.save(join(outDir, NEXT_MODEL_FILE), {
    onProgress: (written, total) => options.onProgress?.(firstTotal + written, firstTotal + total),
  });
  const manifest: VaeDecoderManifest = {
    format: 1,
    dtype: options.dtype,
    config,
    layout: graphs.layout,
    firstModel: FIRST_MODEL_FILE,
    nextModel: NEXT_MODEL_FILE,
    floatOutputs: options.floatOutputs === true,
    timestepScaleMultiplier: await timestepScaleMultiplier(weights),
  };
  await writeFile(join(outDir, VAE_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Converts the VAE decoder of a single-file checkpoint into `outDir`. */
export async function buildVaeDecoderOnnx(
  checkpointPath: string,
  outDir: string,
  options: BuildVaeOptions,
): Promise<VaeDecoderManifest> {
  const checkpoint = await LtxCheckpoint.open(checkpointPath);
  try {
    const config = parseVaeConfig(checkpoint.config.vae);
    return await writeVaeDecoderOnnx(config, checkpointVaeWeights(checkpoint), outDir, options);
  } finally {
    await checkpoint.close();
  }
}

export interface ConvertVaeOptions {
  readonly checkpointPath: string;
  /** The conversion cache folder, e.g. `<model dir>/onnx`. */
  readonly cacheRoot: string;
  readonly dtype: VaeDtype;
  /** Also output the float video (parity checks); cached apart from the plain decoder. */
  readonly floatOutputs?: boolean;
  readonly onProgress?: (event: ConversionEvent) => void;
}

/** The converted decoder for a checkpoint, converting it once (see convert/cache.ts). */
export async function convertVaeDecoder(options: ConvertVaeOptions): Promise<{
  readonly dir: string;
  readonly manifest: VaeDecoderManifest;
  readonly fromCache: boolean;
}> {
  const floatOutputs = options.floatOutputs === true;
  const converted = await convertCached({
    cacheRoot: options.cacheRoot,
    component: floatOutputs ? 'vae-decoder-float' : 'vae-decoder',
    dtype: options.dtype === 'float32' ? 'fp32' : 'fp16',
    converterVersion: CONVERTER_VERSION,
    sources: [options.checkpointPath],
    modelFile: FIRST_MODEL_FILE,
    build: async (dir, onProgress) => {
      await buildVaeDecoderOnnx(options.checkpointPath, dir, {
        dtype: options.dtype,
        floatOutputs,
        onProgress,
      });
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  return {
    dir: converted.dir,
    manifest: await readVaeDecoderManifest(converted.dir),
    fromCache: converted.fromCache,
  };
}

/** The checkpoint's `decoder.timestep_scale_multiplier`, checked to be one number. */
async function timestepScaleMultiplier(weights: VaeWeights): Promise<number> {
  const key = 'decoder.timestep_scale_multiplier';
  const shape = weights.shape(key, []);
  if (shape === undefined) throw new VaeModelError(`The checkpoint has no tensor vae.${key}`);
  const [value, ...rest] = await weights.read(key);
  if (value === undefined || rest.length > 0 || !Number.isFinite(value)) {
    throw new VaeModelError(`vae.${key} is not one finite number`);
  }
  return value;
}
