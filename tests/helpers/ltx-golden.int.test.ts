import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LTX_GOLDEN_DIR, ltxGoldenDir } from './ltx-golden.ts';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/** Every file under `dir`, as paths relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('ltxGoldenDir', () => {
  it('is the repository’s tests/fixtures/ltx/golden, or the folder ZEUS_LTX_GOLDEN names', () => {
    expect(DEFAULT_LTX_GOLDEN_DIR).toBe(join(REPOSITORY, 'tests/fixtures/ltx/golden'));
    expect(ltxGoldenDir({})).toBe(DEFAULT_LTX_GOLDEN_DIR);
    expect(ltxGoldenDir({ ZEUS_LTX_GOLDEN: '' })).toBe(DEFAULT_LTX_GOLDEN_DIR);
    expect(ltxGoldenDir({ ZEUS_LTX_GOLDEN: '/data/golden' }, () => true)).toBe('/data/golden');
  });

  it('names the missing folder and ZEUS_LTX_GOLDEN instead of failing with ENOENT later', () => {
    expect(() => ltxGoldenDir({}, () => false)).toThrow(
      `The LTX-Video reference data is missing: ${DEFAULT_LTX_GOLDEN_DIR} does not exist. ` +
        'It is part of the repository (tests/fixtures/ltx/golden): restore it with ' +
        '`git checkout -- tests/fixtures/ltx/golden`, or set ZEUS_LTX_GOLDEN to a folder of ' +
        'the same layout.',
    );
    expect(() => ltxGoldenDir({ ZEUS_LTX_GOLDEN: '/nowhere/golden' }, () => false)).toThrow(
      'ZEUS_LTX_GOLDEN is /nowhere/golden, which does not exist.',
    );
  });
});

describe('the reference data in the repository', () => {
  it('has the whole layout, and git ignores none of it', async () => {
    const files = await filesUnder(DEFAULT_LTX_GOLDEN_DIR);
    expect(files).toEqual([
      'README.md',
      'checkpoint.safetensors',
      'manifest.json',
      'text_encoder/config.json',
      'text_encoder/model.safetensors',
      'tokenizer/added_tokens.json',
      'tokenizer/special_tokens_map.json',
      'tokenizer/spiece.model',
      'tokenizer/tokenizer_config.json',
      'tokenizer_cases.json',
      'vectors.safetensors',
    ]);
    // `git check-ignore` exits 1 when no path it is given is ignored, 0 when one is.
    const ignored = await promisify(execFile)('git', ['check-ignore', '--no-index', ...files], {
      cwd: DEFAULT_LTX_GOLDEN_DIR,
    }).then(
      ({ stdout }) => stdout,
      (error: unknown) => {
        if ((error as { code?: unknown }).code === 1) return '';
        throw error;
      },
    );
    expect(ignored).toBe('');
  });

  it('is byte for byte the data the official code made (the manifest’s sizes and SHA-256s)', async () => {
    const manifest = JSON.parse(
      await readFile(join(DEFAULT_LTX_GOLDEN_DIR, 'manifest.json'), 'utf8'),
    ) as { files: Record<string, { sha256: string; bytes: number }> };
    expect(Object.keys(manifest.files).sort()).toEqual([
      'checkpoint.safetensors',
      'text_encoder/config.json',
      'text_encoder/model.safetensors',
      'vectors.safetensors',
    ]);
    for (const [name, recorded] of Object.entries(manifest.files)) {
      const bytes = await readFile(join(DEFAULT_LTX_GOLDEN_DIR, name));
      expect({
        name,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      }).toEqual({ name, bytes: recorded.bytes, sha256: recorded.sha256 });
    }
  });
});
