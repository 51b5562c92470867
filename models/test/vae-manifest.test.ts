import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readVaeDecoderManifest,
  readVaeEncoderManifest,
  VAE_ENCODER_MANIFEST_FILE,
  VAE_MANIFEST_FILE,
} from '../src/ltx/vae-manifest.ts';
import { VaeModelError } from '../src/ltx/vae-weights.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-vae-manifest-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('VAE manifests', () => {
  it('reads format 1 for the decoder and the encoder, each from its own file', async () => {
    const decoder = { format: 1, dtype: 'float32', firstModel: 'a.onnx' };
    const encoder = { format: 1, dtype: 'float16', model: 'b.onnx' };
    await writeFile(join(dir, VAE_MANIFEST_FILE), JSON.stringify(decoder));
    await writeFile(join(dir, VAE_ENCODER_MANIFEST_FILE), JSON.stringify(encoder));
    expect(await readVaeDecoderManifest(dir)).toEqual(decoder);
    expect(await readVaeEncoderManifest(dir)).toEqual(encoder);
  });

  it('refuses a format it does not know, naming the file', async () => {
    await writeFile(join(dir, VAE_MANIFEST_FILE), JSON.stringify({ format: 2 }));
    await writeFile(join(dir, VAE_ENCODER_MANIFEST_FILE), JSON.stringify({ dtype: 'float32' }));
    const decoder = readVaeDecoderManifest(dir);
    await expect(decoder).rejects.toBeInstanceOf(VaeModelError);
    await expect(decoder).rejects.toThrow(
      `${join(dir, VAE_MANIFEST_FILE)} has format 2; this Zeus reads 1`,
    );
    await expect(readVaeEncoderManifest(dir)).rejects.toThrow(
      `${join(dir, VAE_ENCODER_MANIFEST_FILE)} has format undefined; this Zeus reads 1`,
    );
  });
});
