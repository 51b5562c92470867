/**
 * What a converted VAE folder holds: its manifest (`vae-decoder.json` or `vae-encoder.json`),
 * which the runtime reads to load the graphs.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VaeConfig, VaeEncoderConfig } from './vae-config.ts';
import type { VaeStreamLayout } from './vae-stream.ts';
import { VaeModelError, type VaeDtype } from './vae-weights.ts';

/** What a converted decoder folder holds (`vae-decoder.json`). */
export interface VaeDecoderManifest {
  readonly format: 1;
  readonly dtype: VaeDtype;
  readonly config: VaeConfig;
  readonly layout: VaeStreamLayout;
  /** File names, relative to the folder. */
  readonly firstModel: string;
  readonly nextModel: string;
  readonly floatOutputs: boolean;
  /** `decoder.timestep_scale_multiplier`, for `vaeTimestepFeatures`. */
  readonly timestepScaleMultiplier: number;
}

/** What a converted encoder folder holds (`vae-encoder.json`). */
export interface VaeEncoderManifest {
  readonly format: 1;
  readonly dtype: VaeDtype;
  readonly config: VaeEncoderConfig;
  /** File name, relative to the folder. */
  readonly model: string;
}

export const VAE_MANIFEST_FILE = 'vae-decoder.json';
export const VAE_ENCODER_MANIFEST_FILE = 'vae-encoder.json';

/** Reads the manifest of a converted decoder folder. */
export async function readVaeDecoderManifest(dir: string): Promise<VaeDecoderManifest> {
  return readVaeManifest<VaeDecoderManifest>(join(dir, VAE_MANIFEST_FILE));
}

/** Reads the manifest of a converted encoder folder. */
export async function readVaeEncoderManifest(dir: string): Promise<VaeEncoderManifest> {
  return readVaeManifest<VaeEncoderManifest>(join(dir, VAE_ENCODER_MANIFEST_FILE));
}

/** Reads a converted VAE part's manifest (decoder or encoder), refusing a format it does not know. */
export async function readVaeManifest<Manifest extends { readonly format: 1 }>(
  path: string,
): Promise<Manifest> {
  const manifest = JSON.parse(await readFile(path, 'utf8')) as { readonly format?: unknown };
  if (manifest.format !== 1) {
    throw new VaeModelError(`${path} has format ${String(manifest.format)}; this Zeus reads 1`);
  }
  return manifest as Manifest;
}
