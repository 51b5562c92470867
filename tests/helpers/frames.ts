/** Frames of videos as raw planes, through ffmpeg, and how alike two of them are. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The first `count` frames (default all) of an MP4 as yuv420p planes, decoded by ffmpeg. */
export async function decodeYuv(path: string, count?: number): Promise<Uint8Array> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      path,
      ...(count === undefined ? [] : ['-frames:v', String(count)]),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 256 * 2 ** 20, timeout: 30_000 },
  );
  return new Uint8Array(stdout);
}

/**
 * RGB24 frames converted to yuv420p by ffmpeg, as the worker's encoder converts them before
 * compressing: what is left between this and a decoded MP4 is the codec's loss.
 */
export async function rgbToYuv(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
): Promise<Uint8Array> {
  const child = execFile(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-video_size',
      `${width}x${height}`,
      '-i',
      '-',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 256 * 2 ** 20, timeout: 30_000 },
  );
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited with ${code}`));
    });
  });
  for (const frame of frames) child.stdin?.write(frame);
  child.stdin?.end();
  await exited;
  return new Uint8Array(Buffer.concat(chunks));
}

/** Peak signal-to-noise ratio of two 8-bit images, in dB. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
  const mse = squared / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
