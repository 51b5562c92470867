import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalOutputStore } from '@zeus/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatentPreview } from '../ltx/preview.ts';
import { PreviewWriter } from './previews.ts';

const jobId = '00000000-0000-4000-8000-00000000beef';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-previews-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A 24×16 latent-resolution preview (a 768×512 video) with a colour gradient. */
function preview(step: number): LatentPreview {
  const rgb = new Uint8Array(24 * 16 * 3);
  for (let i = 0; i < 24 * 16; i++) {
    rgb[i * 3] = (i % 24) * 10;
    rgb[i * 3 + 1] = Math.floor(i / 24) * 15;
    rgb[i * 3 + 2] = step * 20;
  }
  return { step, width: 24, height: 16, rgb };
}

/** A fresh output folder: the store, and the job's own folder in it. */
async function folder(name: string): Promise<{ outputs: LocalOutputStore; directory: string }> {
  const path = join(dir, name);
  await rm(path, { recursive: true, force: true });
  await mkdir(path);
  return { outputs: new LocalOutputStore(path), directory: join(path, jobId) };
}

describe('PreviewWriter', () => {
  it('writes each preview as a small JPEG of at most 512 px, then names its URL', async () => {
    const { outputs, directory } = await folder('one');
    const written: string[] = [];
    const writer = new PreviewWriter({
      jobId,
      outputs,
      video: { width: 768, height: 512 },
      intervalMs: 0,
      onWritten: (url) => written.push(url),
      onError: (error) => {
        throw error;
      },
    });
    writer.offer(preview(1));
    await writer.flush();
    writer.offer(preview(2));
    await writer.flush();
    expect(written).toEqual([
      `/generated/${jobId}/preview-1.jpg`,
      `/generated/${jobId}/preview-2.jpg`,
    ]);
    expect((await readdir(directory)).sort()).toEqual(['preview-1.jpg', 'preview-2.jpg']);
    const jpeg = await readFile(join(directory, 'preview-2.jpg'));
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 512, height: 341 });
    expect(jpeg.length).toBeLessThan(40_000);
    expect(writer.sizes.every((size) => size > 500)).toBe(true);
  });

  it('writes at most one per interval, the newest, and the last one on flush', async () => {
    const { outputs } = await folder('throttled');
    const written: string[] = [];
    const writer = new PreviewWriter({
      jobId,
      outputs,
      video: { width: 256, height: 256 },
      intervalMs: 60_000,
      onWritten: (url) => written.push(url),
      onError: (error) => {
        throw error;
      },
    });
    for (let step = 1; step <= 8; step++) writer.offer(preview(step));
    await writer.flush();
    expect(written.map((url) => url.split('/').pop())).toEqual(['preview-1.jpg', 'preview-8.jpg']);
    await writer.close();
    writer.offer(preview(9));
    await writer.flush();
    expect(written).toHaveLength(2);
  });

  it('reports a folder it cannot write to once, and writes no more', async () => {
    const errors: unknown[] = [];
    // The output folder is a file.
    await writeFile(join(dir, 'a-file'), 'not a folder');
    const writer = new PreviewWriter({
      jobId,
      outputs: new LocalOutputStore(join(dir, 'a-file')),
      video: { width: 256, height: 256 },
      intervalMs: 0,
      onWritten: () => {
        throw new Error('nothing should be written');
      },
      onError: (error) => errors.push(error),
    });
    writer.offer(preview(1));
    await writer.flush();
    writer.offer(preview(2));
    await writer.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'STORAGE_FAILED' });
  });
});
