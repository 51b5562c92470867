/** Facts about an MP4, read with ffprobe and from its top-level boxes. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface VideoFacts {
  readonly codec: string;
  readonly pixelFormat: string;
  readonly width: number;
  readonly height: number;
  /** Frames counted by decoding the whole stream. */
  readonly frames: number;
  readonly frameRate: string;
  readonly formatName: string;
}

export async function probeVideo(path: string): Promise<VideoFacts> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_frames',
      '-show_entries',
      'stream=codec_name,pix_fmt,width,height,nb_read_frames,r_frame_rate:format=format_name',
      '-of',
      'json',
      path,
    ],
    { timeout: 30_000 },
  );
  const parsed = JSON.parse(stdout) as {
    streams: {
      codec_name: string;
      pix_fmt: string;
      width: number;
      height: number;
      nb_read_frames: string;
      r_frame_rate: string;
    }[];
    format: { format_name: string };
  };
  const stream = parsed.streams[0];
  if (stream === undefined) throw new Error(`${path} has no video stream`);
  return {
    codec: stream.codec_name,
    pixelFormat: stream.pix_fmt,
    width: stream.width,
    height: stream.height,
    frames: Number(stream.nb_read_frames),
    frameRate: stream.r_frame_rate,
    formatName: parsed.format.format_name,
  };
}

/** The MP4's top-level box types in file order (e.g. ftyp, moov, mdat). */
export function topLevelBoxes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: string[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.byteLength) {
    let size = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (size === 1) size = Number(view.getBigUint64(offset + 8));
    if (size === 0) size = bytes.byteLength - offset;
    if (size < 8) break;
    boxes.push(type);
    offset += size;
  }
  return boxes;
}

export async function topLevelBoxesOf(path: string): Promise<string[]> {
  return topLevelBoxes(await readFile(path));
}
