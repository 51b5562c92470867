/**
 * A video's poster, read back from the finished MP4 with ffmpeg (through fluent-ffmpeg, like the
 * MP4 writer; arguments from ffmpeg-args.ts): the still a history card shows until the video is
 * played, so a list of thousands of videos loads pictures of a few tens of KB, not MP4s.
 */
import { Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { posterArguments, POSTER_MAX_SIDE } from './ffmpeg-args.ts';
import { EncoderError } from './mp4-writer.ts';

/** The poster's file name, next to `out.mp4`. */
export const POSTER_FILE_NAME = 'poster.jpg';

/** The first frame of the MP4 at `videoPath` as a JPEG of at most `maxSide` px a side. */
export function extractPoster(
  videoPath: string,
  maxSide: number = POSTER_MAX_SIDE,
): Promise<Uint8Array> {
  const args = posterArguments(maxSide);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const command = ffmpeg()
      .input(videoPath)
      .inputOptions([...args.inputOptions])
      .outputOptions([...args.outputOptions]);
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      reject(new EncoderError(`ffmpeg failed: ${error.message}`, stderr ?? '', { cause: error }));
    });
    command.on('end', () => {
      const jpeg = Buffer.concat(chunks);
      // A JPEG starts with SOI (FF D8): anything else is not a picture.
      if (jpeg.length < 2 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) {
        reject(new EncoderError(`ffmpeg wrote no JPEG for ${videoPath}`, ''));
        return;
      }
      resolve(new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength));
    });
    command.pipe(output, { end: true });
  });
}
