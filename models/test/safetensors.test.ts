import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LTX_GOLDEN_DIR } from '../../tests/helpers/ltx-golden.ts';
import { SafetensorsFile, SafetensorsFormatError, writeSafetensors } from '../src/safetensors.ts';
import { f32ToBf16 } from '../src/tensor/dtype.ts';
import { tensorFromTyped } from '../src/tensor/tensor.ts';

/** The repository's own golden checkpoint: the sizes asserted below are this file's. */
const GOLDEN = DEFAULT_LTX_GOLDEN_DIR;
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('safetensors', () => {
  it('reads the checkpoint header, metadata config and bf16 tensors by name', async () => {
    const file = await SafetensorsFile.open(join(GOLDEN, 'checkpoint.safetensors'));
    try {
      const config = JSON.parse(file.metadata['config'] ?? '{}') as {
        transformer: { num_layers: number };
        allowed_inference_steps: number[];
      };
      expect(config.transformer.num_layers).toBe(2);
      expect(config.allowed_inference_steps).toHaveLength(8);
      const entry = file.entry('model.diffusion_model.patchify_proj.weight');
      expect(entry.dtype).toBe('bfloat16');
      expect(entry.shape).toEqual([20, 128]);
      const weights = await file.readFloat32('model.diffusion_model.patchify_proj.weight');
      expect(weights).toHaveLength(20 * 128);
      expect(weights.every(Number.isFinite)).toBe(true);
      expect(file.names.some((name) => name.startsWith('vae.decoder.'))).toBe(true);
      expect(() => file.entry('missing')).toThrow(/no tensor named "missing"/);
    } finally {
      await file.close();
    }
  });

  it('round-trips what it writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-st-'));
    dirs.push(dir);
    const path = join(dir, 'x.safetensors');
    const a = Float32Array.from([1.5, -2, 3.25]);
    await writeSafetensors(
      path,
      [
        ['a', tensorFromTyped('float32', [3], a)],
        ['b', tensorFromTyped('bfloat16', [1, 3], f32ToBf16(a))],
        ['c', tensorFromTyped('int64', [2], BigInt64Array.from([7n, -1n]))],
      ],
      { config: '{"x":1}' },
    );
    const file = await SafetensorsFile.open(path);
    expect(file.metadata).toEqual({ config: '{"x":1}' });
    expect(await file.readFloat32('a')).toEqual(a);
    expect(await file.readFloat32('b')).toEqual(a);
    expect((await file.read('c')).shape).toEqual([2]);
    await file.close();
  });

  it('refuses files that are not safetensors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-st-'));
    dirs.push(dir);
    const path = join(dir, 'bad.safetensors');
    await writeFile(path, Buffer.from('0123456789abcdef'));
    await expect(SafetensorsFile.open(path)).rejects.toThrow(SafetensorsFormatError);
  });
});
