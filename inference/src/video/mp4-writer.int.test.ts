import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideo, topLevelBoxesOf } from '../../../tests/helpers/video.ts';
import { EncoderError, Mp4Writer } from './mp4-writer.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-mp4-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A moving gradient, so the encoder has real content. */
function frame(width: number, height: number, index: number): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const at = (y * width + x) * 3;
      pixels[at] = (x * 4 + index * 8) % 256;
      pixels[at + 1] = (y * 4) % 256;
      pixels[at + 2] = (index * 16) % 256;
    }
  }
  return pixels;
}

describe('Mp4Writer (real ffmpeg)', () => {
  it('writes an H.264 yuv420p MP4 of the requested size, rate and frames, index first', async () => {
    const directory = join(root, 'job-a');
    const writer = await Mp4Writer.open({
      directory,
      width: 96,
      height: 64,
      frameRate: 12,
      expectedFrames: 17,
    });
    for (let i = 0; i < 17; i += 1) await writer.write(frame(96, 64, i));
    const path = await writer.finish();
    expect(path).toBe(join(directory, 'out.mp4'));
    expect(await readdir(directory)).toEqual(['out.mp4']);
    expect(await probeVideo(path)).toMatchObject({
      codec: 'h264',
      pixelFormat: 'yuv420p',
      width: 96,
      height: 64,
      frames: 17,
      frameRate: '12/1',
    });
    const boxes = await topLevelBoxesOf(path);
    expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
  });

  it('leaves nothing behind when aborted, and clears leftovers of earlier attempts', async () => {
    const directory = join(root, 'job-b');
    const first = await Mp4Writer.open({
      directory,
      width: 64,
      height: 64,
      frameRate: 8,
      expectedFrames: 9,
    });
    await first.write(frame(64, 64, 0));
    await first.abort();
    expect(await readdir(directory)).toEqual([]);

    await writeFile(join(directory, '.out.crashed-attempt.mp4.partial'), 'partial');
    const second = await Mp4Writer.open({
      directory,
      width: 64,
      height: 64,
      frameRate: 8,
      expectedFrames: 9,
    });
    expect(await readdir(directory)).toEqual([]);
    await second.abort();
  });

  it('refuses frames of the wrong size and videos with the wrong frame count', async () => {
    const directory = join(root, 'job-c');
    const writer = await Mp4Writer.open({
      directory,
      width: 64,
      height: 64,
      frameRate: 8,
      expectedFrames: 9,
    });
    await expect(writer.write(new Uint8Array(10))).rejects.toThrow(/12288 bytes/);
    await writer.write(frame(64, 64, 0));
    await expect(writer.finish()).rejects.toThrow(/1 frames; 9 were expected/);
    await writer.abort();
    expect(await readdir(directory)).toEqual([]);
  });

  it('reports an ffmpeg failure as an EncoderError', async () => {
    const directory = join(root, 'job-d');
    const writer = await Mp4Writer.open({
      directory,
      width: 64,
      height: 64,
      frameRate: 8,
      expectedFrames: 1,
    });
    await writer.write(frame(64, 64, 0));
    // ffmpeg dying mid-encode (killed here) must surface from finish(), not hang it.
    const finishing = writer.finish().then(
      () => null,
      (error: unknown) => error,
    );
    await writer.abort();
    expect(await finishing).toBeInstanceOf(EncoderError);
  });
});
