import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';
import type { LtxTransformerConfig } from '../src/ltx/checkpoint-config.ts';
import { LtxCheckpoint } from '../src/ltx/checkpoint.ts';
import {
  ropeFrequencies,
  ropeFullTables,
  ropeTables,
  timestepFeatures,
} from '../src/ltx/transformer-inputs.ts';
import { SafetensorsFile } from '../src/safetensors.ts';

const GOLDEN_DIR = ltxGoldenDir();

let vectors: SafetensorsFile;
let config: LtxTransformerConfig;
beforeAll(async () => {
  vectors = await SafetensorsFile.open(join(GOLDEN_DIR, 'vectors.safetensors'));
  const checkpoint = await LtxCheckpoint.open(join(GOLDEN_DIR, 'checkpoint.safetensors'));
  config = checkpoint.config.transformer;
  await checkpoint.close();
});
afterAll(async () => {
  await vectors.close();
});

describe('rotary tables', () => {
  it("equal the reference's tables bit for bit (float32 recipe)", async () => {
    const grid = await vectors.readFloat32('transformer.indices_grid');
    const tables = ropeTables(config, grid);
    const { cos, sin } = ropeFullTables(config, tables);
    expect(Array.from(cos)).toEqual(
      Array.from(await vectors.readFloat32('transformer.debug.rope_cos')),
    );
    expect(Array.from(sin)).toEqual(
      Array.from(await vectors.readFloat32('transformer.debug.rope_sin')),
    );
  });

  it('hold one row per distinct coordinate of each axis', () => {
    // 3 frames × 2 rows × 4 columns: 3 + 2 + 4 rows, whatever the token count.
    const tokens = 24;
    const grid = new Float32Array(3 * tokens);
    for (let n = 0; n < tokens; n++) {
      grid[n] = Math.floor(n / 8) * 0.3;
      grid[tokens + n] = 32 * (Math.floor(n / 4) % 2);
      grid[2 * tokens + n] = 32 * (n % 4);
    }
    const tables = ropeTables(config, grid);
    expect(tables.rows).toBe(9);
    expect(tables.table).toHaveLength(9 * 2 * Math.floor(config.innerDim / 6));
    expect(Array.from(tables.index.subarray(0, 6), Number)).toEqual([0, 3, 5, 0, 3, 6]);
  });

  it('use float32 frequencies θ^u·π/2 from 1·π/2 to θ·π/2', () => {
    const real = { ...config, innerDim: 2048, positionalEmbeddingTheta: 10000 };
    const frequencies = ropeFrequencies(real);
    expect(frequencies).toHaveLength(341);
    const pi = Math.fround(Math.PI);
    expect(frequencies[0]).toBe(Math.fround(pi / 2));
    expect(frequencies[340]).toBe(Math.fround(Math.fround(10000 * pi) / 2));
    for (let k = 1; k < 341; k++) expect(frequencies[k]!).toBeGreaterThan(frequencies[k - 1]!);
  });
});

describe('timestep features', () => {
  it('are cos then sin of τ·φ_j, τ = multiplier·t', () => {
    const features = timestepFeatures([0, 0.5], 1000);
    expect(features).toHaveLength(512);
    expect(Array.from(features.subarray(0, 128))).toEqual(new Array(128).fill(1));
    expect(Array.from(features.subarray(128, 256))).toEqual(new Array(128).fill(0));
    // j = 0: φ = 1, so τ = 500 itself.
    expect(features[256]).toBe(Math.fround(Math.cos(500)));
    expect(features[256 + 128]).toBe(Math.fround(Math.sin(500)));
    // j = 64: φ = 10^-2 (to float32 rounding).
    expect(features[256 + 64]).toBeCloseTo(Math.cos(5), 5);
  });
});
