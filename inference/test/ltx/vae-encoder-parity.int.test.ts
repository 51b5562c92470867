/**
 * `npm run parity` with encoder vectors: a reference directory in the golden layout whose
 * `vae_encode.*` tensors come from the independent encoder (naive-vae-encoder.ts), to check the
 * plumbing other reference sets will use. The golden set itself has no encoder vectors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vaeEncoderCheck } from '../../src/parity/checks/vae-encoder.ts';
import { Reference } from '../../src/parity/reference.ts';
import { CPU_FP32, passed } from '../../src/parity/types.ts';
import { gaussian } from '../../src/sampler/noise.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';
import { naiveVaeEncode } from './naive-vae-encoder.ts';
import { writeReferenceSet, type ReferenceTensor } from './reference-set.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A reference directory with the golden checkpoint and encoder vectors (optionally spoiled). */
async function referenceSet(options: { noise: boolean; spoil?: number }): Promise<Reference> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-encoder-reference-'));
  dirs.push(dir);
  const checkpoint = join(GOLDEN_DIR, 'checkpoint.safetensors');
  const shape = [1, 3, 9, 64, 64];
  const input = gaussian(21, 0, 0, 3 * 9 * 64 * 64).map((value) => Math.tanh(value / 2));
  const latentShape = [1, 128, 2, 2, 2];
  const noise = options.noise ? gaussian(22, 0, 0, 128 * 8) : undefined;
  const encoded = await naiveVaeEncode(checkpoint, input, shape, noise);
  const latents = encoded.latents.map((value, i) =>
    i === 5 ? value + (options.spoil ?? 0) : value,
  );
  const tensors: ReferenceTensor[] = [
    ['vae_encode.input', shape, input],
    ['vae_encode.latents', latentShape, latents],
    ['vae_encode.mean', latentShape, encoded.mean],
  ];
  if (noise !== undefined) tensors.push(['vae_encode.noise', latentShape, noise]);
  return writeReferenceSet(dir, { checkpoint, tensors, tolerances: { 'vae_encode.*': 1e-3 } });
}

describe('the parity command on encoder vectors', () => {
  let golden: Reference;
  beforeAll(async () => {
    golden = await Reference.open(GOLDEN_DIR);
  });
  afterAll(async () => {
    await golden.close();
  });

  it('compares nothing on a reference set without vae_encode vectors', async () => {
    expect(await vaeEncoderCheck.run(golden, CPU_FP32)).toEqual([]);
  });

  it.each([true, false])(
    'passes on vectors from the official method (posterior draw given: %s)',
    async (noise) => {
      const reference = await referenceSet({ noise });
      try {
        const results = await vaeEncoderCheck.run(reference, CPU_FP32);
        expect(results.map((result) => result.name)).toEqual([
          'vae_encode.latents',
          'vae_encode.mean',
        ]);
        for (const result of results) expect(passed(result), result.name).toBe(true);
      } finally {
        await reference.close();
      }
    },
  );

  it('fails when the latents are off by more than the tolerance', async () => {
    const reference = await referenceSet({ noise: true, spoil: 0.01 });
    try {
      const [latents] = await vaeEncoderCheck.run(reference, CPU_FP32);
      expect(latents?.maxAbsError).toBeGreaterThan(0.009);
      expect(latents === undefined ? true : passed(latents)).toBe(false);
    } finally {
      await reference.close();
    }
  });
});
