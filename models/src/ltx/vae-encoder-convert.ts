/**
 * Converts the VAE encoder of a single-file checkpoint into its graph and manifest
 * (vae-encoder-graph.ts, vae-manifest.ts), once per checkpoint, into the conversion cache.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertCached, type ConversionEvent } from '../convert/cache.ts';
import { LtxCheckpoint } from './checkpoint.ts';
import { parseVaeEncoderConfig } from './vae-config.ts';
import { buildVaeEncoderGraph, type VaeEncoderGraphOptions } from './vae-encoder-graph.ts';
import {
  readVaeEncoderManifest,
  VAE_ENCODER_MANIFEST_FILE,
  type VaeEncoderManifest,
} from './vae-manifest.ts';
import { checkpointVaeWeights, type VaeDtype } from './vae-weights.ts';

const MODEL_FILE = 'model.onnx';
/** Bump when the graph changes for the same checkpoint (the conversion cache keys on it). */
const ENCODER_CONVERTER_VERSION = 2;

/** Converts the VAE encoder of a single-file checkpoint into `outDir`, with its manifest. */
export async function buildVaeEncoderOnnx(
  checkpointPath: string,
  outDir: string,
  options: VaeEncoderGraphOptions & {
    readonly onProgress?: (bytesWritten: number, bytesTotal: number) => void;
  },
): Promise<VaeEncoderManifest> {
  const checkpoint = await LtxCheckpoint.open(checkpointPath);
  try {
    const config = parseVaeEncoderConfig(checkpoint.config.vae);
    const { graph } = buildVaeEncoderGraph(config, checkpointVaeWeights(checkpoint), options);
    await graph.save(
      join(outDir, MODEL_FILE),
      options.onProgress === undefined ? {} : { onProgress: options.onProgress },
    );
    const manifest: VaeEncoderManifest = {
      format: 1,
      dtype: options.dtype,
      config,
      model: MODEL_FILE,
    };
    await writeFile(
      join(outDir, VAE_ENCODER_MANIFEST_FILE),
      `${JSON.stringify(manifest, null, 2)}\n`,
    );
    return manifest;
  } finally {
    await checkpoint.close();
  }
}

export interface ConvertVaeEncoderOptions {
  readonly checkpointPath: string;
  /** The conversion cache folder, e.g. `<model dir>/onnx`. */
  readonly cacheRoot: string;
  readonly dtype: VaeDtype;
  readonly onProgress?: (event: ConversionEvent) => void;
}

/** The converted encoder for a checkpoint, converting it once (see convert/cache.ts). */
export async function convertVaeEncoder(options: ConvertVaeEncoderOptions): Promise<{
  readonly dir: string;
  readonly manifest: VaeEncoderManifest;
  readonly fromCache: boolean;
}> {
  const converted = await convertCached({
    cacheRoot: options.cacheRoot,
    component: 'vae-encoder',
    dtype: options.dtype === 'float32' ? 'fp32' : 'fp16',
    converterVersion: ENCODER_CONVERTER_VERSION,
    sources: [options.checkpointPath],
    modelFile: MODEL_FILE,
    build: async (dir, onProgress) => {
      await buildVaeEncoderOnnx(options.checkpointPath, dir, { dtype: options.dtype, onProgress });
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  return {
    dir: converted.dir,
    manifest: await readVaeEncoderManifest(converted.dir),
    fromCache: converted.fromCache,
  };
}
