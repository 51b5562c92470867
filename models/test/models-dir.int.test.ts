import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSpec } from '../src/registry.ts';
import { ensureModelFiles, findModelFiles } from '../src/store/model-files.ts';
import { adoptLegacyModelDir, legacyModelDir } from '../src/store/models-dir.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-models-dir-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('model folders an older Zeus left in models/cache', () => {
  it('are moved into the default models folder, files and conversions, and then found', async () => {
    const current = join(root, 'legacy-default');
    const folders = { current, legacy: join(current, 'cache') };
    const old = join(folders.legacy, 'tiny-random');
    await ensureModelFiles(modelSpec('tiny-random'), old);
    await mkdir(join(old, 'onnx'), { recursive: true });
    await writeFile(join(old, 'onnx', 'vae.onnx'), 'converted');

    expect(await legacyModelDir(current, 'tiny-random', folders)).toBe(old);
    const move = await adoptLegacyModelDir(current, 'tiny-random', folders);
    expect(move).toEqual({ moved: true, from: old, to: join(current, 'tiny-random') });
    expect(existsSync(folders.legacy)).toBe(false);
    expect(await readFile(join(current, 'tiny-random', 'onnx', 'vae.onnx'), 'utf8')).toBe(
      'converted',
    );
    // Recorded as verified where it was: found in place without generating anything again.
    expect(await findModelFiles(modelSpec('tiny-random'), join(current, 'tiny-random'))).toEqual(
      expect.objectContaining({ dir: join(current, 'tiny-random') }),
    );
    // Once moved, nothing more to do.
    expect(await adoptLegacyModelDir(current, 'tiny-random', folders)).toEqual({ moved: false });
  });

  it('are left alone when the model has a folder already, or another models folder is set', async () => {
    const current = join(root, 'legacy-both');
    const folders = { current, legacy: join(current, 'cache') };
    await mkdir(join(folders.legacy, 'tiny-random'), { recursive: true });
    await mkdir(join(current, 'tiny-random'), { recursive: true });
    await writeFile(join(current, 'tiny-random', 'kept'), 'new');
    expect(await adoptLegacyModelDir(current, 'tiny-random', folders)).toEqual({ moved: false });
    expect(existsSync(join(folders.legacy, 'tiny-random'))).toBe(true);
    expect(await readFile(join(current, 'tiny-random', 'kept'), 'utf8')).toBe('new');

    const elsewhere = join(root, 'legacy-elsewhere');
    await rm(join(current, 'tiny-random'), { recursive: true });
    expect(await legacyModelDir(elsewhere, 'tiny-random', folders)).toBeUndefined();
    expect(await adoptLegacyModelDir(elsewhere, 'tiny-random', folders)).toEqual({ moved: false });
    expect(existsSync(join(folders.legacy, 'tiny-random'))).toBe(true);
  });

  it('are moved by one of several processes starting at once', async () => {
    const current = join(root, 'legacy-race');
    const folders = { current, legacy: join(current, 'cache') };
    await mkdir(join(folders.legacy, 'tiny-random'), { recursive: true });
    await writeFile(join(folders.legacy, 'tiny-random', 'weights'), 'w');
    const moves = await Promise.all(
      Array.from({ length: 4 }, () => adoptLegacyModelDir(current, 'tiny-random', folders)),
    );
    expect(moves.filter((move) => move.moved)).toHaveLength(1);
    expect(moves.filter((move) => 'error' in move)).toEqual([]);
    expect(await readFile(join(current, 'tiny-random', 'weights'), 'utf8')).toBe('w');
  });

  it('say why when they cannot be moved', async () => {
    // The models folder cannot be made (a file stands where it should be).
    await writeFile(join(root, 'legacy-file'), 'a file, not a folder');
    const folders = { current: join(root, 'legacy-file', 'models'), legacy: join(root, 'old') };
    await mkdir(join(folders.legacy, 'tiny-random'), { recursive: true });
    const move = await adoptLegacyModelDir(folders.current, 'tiny-random', folders);
    expect(move).toEqual({
      moved: false,
      from: join(folders.legacy, 'tiny-random'),
      to: join(folders.current, 'tiny-random'),
      error: expect.stringContaining('ENOTDIR') as unknown,
    });
    expect(existsSync(join(folders.legacy, 'tiny-random'))).toBe(true);
  });
});
