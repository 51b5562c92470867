/**
 * Runs one RGB24 picture through H.264 and back with ffmpeg (through fluent-ffmpeg, like the MP4
 * writer; arguments from ffmpeg-args.ts), as the official pipeline degrades a conditioning image.
 */
import { PassThrough, Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { EncoderError } from './mp4-writer.ts';
import { stillDecodeArguments, stillEncodeArguments, type FfmpegArguments } from './ffmpeg-args.ts';

/** The picture (width × height × 3 bytes, both even) after an H.264 round trip at `crf`. */
export async function compressStill(
  rgb: Uint8Array,
  width: number,
  height: number,
  crf: number,
): Promise<Uint8Array> {
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`A ${width}×${height} picture has ${width * height * 3} bytes.`);
  }
  const stream = await runFfmpeg(Buffer.from(rgb), stillEncodeArguments(width, height, crf));
  const decoded = await runFfmpeg(stream, stillDecodeArguments());
  if (decoded.length !== rgb.length) {
    throw new EncoderError(
      `ffmpeg gave back ${decoded.length} bytes for a ${width}×${height} picture`,
      '',
    );
  }
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}

/** Pipes `input` through ffmpeg and collects its output. */
function runFfmpeg(input: Buffer, args: FfmpegArguments): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const source = new PassThrough();
    const command = ffmpeg()
      .input(source)
      .inputOptions([...args.inputOptions])
      .outputOptions([...args.outputOptions]);
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      reject(new EncoderError(`ffmpeg failed: ${error.message}`, stderr ?? '', { cause: error }));
    });
    command.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    command.pipe(output, { end: true });
    source.end(input);
  });
}
