import { mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  conversionKey,
  convertCached,
  ConversionError,
  removeStaleConversions,
  type ConversionEvent,
} from '../src/convert/cache.ts';
import { cachedSha256, sha256File } from '../src/convert/file-hash.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-convert-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fixture(content = 'weights v1'): Promise<{ root: string; source: string }> {
  const dir = await tempDir();
  const source = join(dir, 'checkpoint.safetensors');
  await writeFile(source, content);
  return { root: join(dir, 'onnx'), source };
}

function writer(content: string, calls: { count: number }) {
  return async (dir: string, onProgress: (written: number, total: number) => void) => {
    calls.count++;
    onProgress(0, content.length);
    await writeFile(join(dir, 'model.onnx'), content);
    onProgress(content.length, content.length);
  };
}

describe('sha256 of files', () => {
  it('hashes content and remembers it by size and mtime', async () => {
    const { root, source } = await fixture('abc');
    const expected = createHash('sha256').update('abc').digest('hex');
    expect(await sha256File(source)).toBe(expected);
    const cachePath = join(root, 'hashes.json');
    // Whole seconds, so that utimes can restore the mtime exactly.
    const mtime = new Date(1_700_000_000_000);
    await utimes(source, mtime, mtime);
    expect(await cachedSha256(source, cachePath)).toBe(expected);
    // Same size and mtime: the recorded hash is trusted, so a rewrite that keeps both is not seen.
    await writeFile(source, 'xyz');
    await utimes(source, mtime, mtime);
    expect(await cachedSha256(source, cachePath)).toBe(expected);
    await utimes(source, mtime, new Date(mtime.getTime() + 5_000));
    expect(await cachedSha256(source, cachePath)).toBe(
      createHash('sha256').update('xyz').digest('hex'),
    );
  });
});

describe('convertCached', () => {
  it('converts once, then serves the cached folder', async () => {
    const { root, source } = await fixture();
    const calls = { count: 0 };
    const events: ConversionEvent[] = [];
    const options = {
      cacheRoot: root,
      component: 'transformer',
      dtype: 'fp32',
      converterVersion: 1,
      sources: [source],
      build: writer('model-a', calls),
      onProgress: (event: ConversionEvent) => events.push(event),
    };
    const first = await convertCached(options);
    expect(first.fromCache).toBe(false);
    expect(first.dir).toBe(join(root, `transformer-fp32-${first.key}`));
    expect(await readFile(first.modelPath, 'utf8')).toBe('model-a');
    expect(events.filter((event) => event.kind === 'writing').at(-1)).toEqual({
      kind: 'writing',
      bytesWritten: 7,
      bytesTotal: 7,
    });
    expect(events.at(-1)).toEqual({ kind: 'ready', dir: first.dir, fromCache: false });
    const record = JSON.parse(await readFile(join(first.dir, 'conversion.json'), 'utf8')) as {
      sources: { sha256: string }[];
    };
    expect(record.sources[0]?.sha256).toBe(await sha256File(source));

    const second = await convertCached(options);
    expect(second).toEqual({ ...first, fromCache: true });
    expect(calls.count).toBe(1);
    // Nothing temporary is left behind.
    expect((await readdir(root)).filter((name) => name.startsWith('.tmp'))).toEqual([]);
  });

  it('keys by source content, converter version, dtype and options', async () => {
    const { root, source } = await fixture();
    const calls = { count: 0 };
    const base = {
      cacheRoot: root,
      component: 'vae-decoder',
      dtype: 'fp32',
      converterVersion: 1,
      sources: [source],
      build: writer('m', calls),
    };
    const keys = new Set<string>();
    keys.add((await convertCached(base)).key);
    keys.add((await convertCached({ ...base, converterVersion: 2 })).key);
    keys.add((await convertCached({ ...base, dtype: 'fp16' })).key);
    keys.add((await convertCached({ ...base, options: { frames: 9 } })).key);
    await writeFile(source, 'weights v2');
    keys.add((await convertCached(base)).key);
    expect(keys.size).toBe(5);
    expect(calls.count).toBe(5);
    const latest = await convertCached(base);
    expect(latest.fromCache).toBe(true);
    const removed = await removeStaleConversions(root, 'vae-decoder', 'fp32', latest.key);
    expect(removed).toHaveLength(3);
    expect((await readdir(root)).filter((name) => name.startsWith('vae-decoder-fp32-'))).toEqual([
      `vae-decoder-fp32-${latest.key}`,
    ]);
  });

  it('runs concurrent calls for the same conversion once', async () => {
    const { root, source } = await fixture();
    const calls = { count: 0 };
    const options = {
      cacheRoot: root,
      component: 't5',
      dtype: 'fp16',
      converterVersion: 'a',
      sources: [source],
      build: writer('x', calls),
    };
    const results = await Promise.all([convertCached(options), convertCached(options)]);
    expect(calls.count).toBe(1);
    expect(results[0].dir).toBe(results[1].dir);
  });

  it('leaves nothing in place when the build fails, and retries next time', async () => {
    const { root, source } = await fixture();
    const options = {
      cacheRoot: root,
      component: 'transformer',
      dtype: 'fp16',
      converterVersion: 1,
      sources: [source],
    };
    await expect(
      convertCached({
        ...options,
        build: async (dir) => {
          await writeFile(join(dir, 'model.onnx'), 'partial');
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(await readdir(root)).toEqual(['source-hashes.json']);
    await expect(convertCached({ ...options, build: async () => {} })).rejects.toThrow(
      ConversionError,
    );
    const calls = { count: 0 };
    const converted = await convertCached({ ...options, build: writer('ok', calls) });
    expect(converted.fromCache).toBe(false);
    expect(await readFile(converted.modelPath, 'utf8')).toBe('ok');
  });

  it('waits for a conversion another process holds the lock for', async () => {
    const { root, source } = await fixture();
    const calls = { count: 0 };
    const options = {
      cacheRoot: root,
      component: 'transformer',
      dtype: 'fp32',
      converterVersion: 1,
      sources: [source],
      build: writer('mine', calls),
    };
    const dir = join(
      root,
      `transformer-fp32-${conversionKey(options, [await sha256File(source)])}`,
    );
    await mkdir(root, { recursive: true });
    await writeFile(`${dir}.lock`, '12345\n');
    const events: ConversionEvent[] = [];
    let waited!: () => void;
    const waiting = new Promise<void>((resolve) => (waited = resolve));
    const pending = convertCached({
      ...options,
      onProgress: (event) => {
        events.push(event);
        if (event.kind === 'waiting') waited();
      },
    });
    // Once it waits on the lock, the other process finishes: its folder appears (complete,
    // renamed in place), its lock goes.
    await waiting;
    await mkdir(`${dir}.other`);
    await writeFile(join(`${dir}.other`, 'model.onnx'), 'theirs');
    await writeFile(join(`${dir}.other`, 'conversion.json'), '{}');
    await rename(`${dir}.other`, dir);
    await rm(`${dir}.lock`);
    const converted = await pending;
    expect(converted.fromCache).toBe(true);
    expect(calls.count).toBe(0);
    expect(await readFile(converted.modelPath, 'utf8')).toBe('theirs');
    // It waited, then took the other process's conversion.
    expect(events.at(-1)).toMatchObject({ kind: 'ready', dir, fromCache: true });
    expect(events.findIndex((event) => event.kind === 'waiting')).toBeLessThan(events.length - 1);
  });

  it('takes over a lock that was not refreshed in time', async () => {
    const { root, source } = await fixture();
    const calls = { count: 0 };
    const options = {
      cacheRoot: root,
      component: 'transformer',
      dtype: 'fp32',
      converterVersion: 1,
      sources: [source],
      build: writer('mine', calls),
      staleLockMs: 60_000,
    };
    const dir = join(
      root,
      `transformer-fp32-${conversionKey(options, [await sha256File(source)])}`,
    );
    await mkdir(root, { recursive: true });
    await writeFile(`${dir}.lock`, '12345\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(`${dir}.lock`, old, old);
    // A crashed writer's temporary folder is cleared too.
    await mkdir(join(root, `.tmp-transformer-fp32-${basename(dir).split('-').at(-1)!}-dead`));
    const converted = await convertCached(options);
    expect(converted.fromCache).toBe(false);
    expect(calls.count).toBe(1);
    expect((await readdir(root)).sort()).toEqual(['source-hashes.json', basename(dir)].sort());
  });

  it('rejects names that cannot be folder-name parts', async () => {
    const { root, source } = await fixture();
    await expect(
      convertCached({
        cacheRoot: root,
        component: '../escape',
        dtype: 'fp32',
        converterVersion: 1,
        sources: [source],
        build: async () => {},
      }),
    ).rejects.toThrow(/not a valid folder-name part/);
  });
});
