import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeYuv, psnr } from '../../../tests/helpers/frames.ts';
import { probeVideo } from '../../../tests/helpers/video.ts';
import { Mp4Writer } from './mp4-writer.ts';
import { extractPoster } from './poster.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-poster-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Frames that differ from each other, so the first one can be told apart. */
function frame(width: number, height: number, index: number): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const at = (y * width + x) * 3;
      pixels[at] = (x + index * 40) % 256;
      pixels[at + 1] = (y * 2) % 256;
      pixels[at + 2] = (index * 60) % 256;
    }
  }
  return pixels;
}

async function video(name: string, width: number, height: number): Promise<string> {
  const writer = await Mp4Writer.open({
    directory: join(root, name),
    width,
    height,
    frameRate: 10,
    expectedFrames: 9,
  });
  for (let i = 0; i < 9; i += 1) await writer.write(frame(width, height, i));
  return writer.finish();
}

describe('extractPoster (real ffmpeg)', () => {
  it("is the video's first frame as a JPEG, at the video's size when it is small", async () => {
    const path = await video('small', 96, 64);
    const jpeg = await extractPoster(path);
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    const posterPath = join(root, 'small.jpg');
    await writeFile(posterPath, jpeg);
    expect(await probeVideo(posterPath)).toMatchObject({ width: 96, height: 64 });
    // Close to the first frame (JPEG's loss), far from the second.
    const poster = await decodeYuv(posterPath);
    const [first, second] = [
      (await decodeYuv(path, 1)).subarray(0, poster.length),
      (await decodeYuv(path, 2)).subarray(poster.length),
    ];
    expect(psnr(poster, first)).toBeGreaterThan(30);
    expect(psnr(poster, second)).toBeLessThan(psnr(poster, first) - 5);
  });

  it('scales a large video down to 640 px on its long side, keeping its shape', async () => {
    const path = await video('large', 864, 480);
    const posterPath = join(root, 'large.jpg');
    const jpeg = await extractPoster(path);
    await writeFile(posterPath, jpeg);
    const facts = await probeVideo(posterPath);
    expect(facts.width).toBe(640);
    expect(Math.abs(facts.height - 640 * (480 / 864))).toBeLessThanOrEqual(1);
    expect(jpeg.length).toBeLessThan(100_000);
  });

  it('fails with EncoderError for a file that is not a video', async () => {
    const path = join(root, 'not-a-video.mp4');
    await writeFile(path, 'not a video');
    await expect(extractPoster(path)).rejects.toMatchObject({ name: 'EncoderError' });
  });
});
