/**
 * Writes a video as it is generated: raw RGB24 frames are piped into ffmpeg (through
 * fluent-ffmpeg, the one place Zeus runs ffmpeg) as they arrive, with backpressure, into a
 * hidden temporary file in the job's folder. `finish()` renames it to `out.mp4` once it is
 * complete, so `out.mp4` only ever exists whole.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { FrameSink } from '../pipeline/types.ts';
import { mp4Arguments, type Mp4Encoding } from './ffmpeg-args.ts';

export const VIDEO_FILE_NAME = 'out.mp4';
/** Temporary files start with a dot: Caddy's file server hides such names. */
const TEMPORARY_PREFIX = '.out.';
const TEMPORARY_SUFFIX = '.mp4.partial';

/** ffmpeg failed; `stderr` holds its last words (it may contain paths: for logs, not users). */
export class EncoderError extends Error {
  override readonly name = 'EncoderError';
  constructor(
    message: string,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Mp4WriterOptions extends Mp4Encoding {
  /** The job's folder (`generated/<job-id>`), created when missing. */
  readonly directory: string;
  /** Frames the video must have: `finish()` refuses a video with any other count. */
  readonly expectedFrames: number;
}

export class Mp4Writer implements FrameSink {
  private framesWritten = 0;
  private failure: Error | null = null;
  private readonly finished: Promise<void>;

  private constructor(
    private readonly options: Mp4WriterOptions,
    private readonly input: PassThrough,
    private readonly command: ffmpeg.FfmpegCommand,
    readonly temporaryPath: string,
    readonly path: string,
  ) {
    this.finished = new Promise<void>((resolve, reject) => {
      command.on('end', () => {
        resolve();
      });
      command.on('error', (error, _stdout, stderr) => {
        this.failure = new EncoderError(`ffmpeg failed: ${error.message}`, stderr ?? '', {
          cause: error,
        });
        reject(this.failure);
      });
    });
    // Failures are reported by write() and finish(); until then this must not be "unhandled".
    this.finished.catch(() => undefined);
  }

  static async open(options: Mp4WriterOptions): Promise<Mp4Writer> {
    const args = mp4Arguments(options);
    await makeDirectory(options.directory);
    await removeTemporaryFiles(options.directory);
    const temporaryPath = join(
      options.directory,
      `${TEMPORARY_PREFIX}${randomUUID()}${TEMPORARY_SUFFIX}`,
    );
    // Room for two frames: the pipeline can produce the next while ffmpeg encodes one.
    const input = new PassThrough({ highWaterMark: options.width * options.height * 3 * 2 });
    const command = ffmpeg()
      .input(input)
      .inputOptions([...args.inputOptions])
      .output(temporaryPath)
      .outputOptions([...args.outputOptions]);
    const writer = new Mp4Writer(
      options,
      input,
      command,
      temporaryPath,
      join(options.directory, VIDEO_FILE_NAME),
    );
    // fluent-ffmpeg looks ffmpeg up before spawning it: until it runs, it cannot be stopped.
    const started = new Promise<void>((resolve) => {
      command.once('start', () => {
        resolve();
      });
    });
    command.run();
    await Promise.race([started, writer.finished]);
    return writer;
  }

  get frames(): number {
    return this.framesWritten;
  }

  async write(frame: Uint8Array): Promise<void> {
    const expected = this.options.width * this.options.height * 3;
    if (frame.byteLength !== expected) {
      throw new RangeError(`A frame must have ${expected} bytes (got ${frame.byteLength}).`);
    }
    this.throwIfFailed();
    this.framesWritten += 1;
    // ffmpeg may read the buffer after the pipeline reuses its memory: give it a copy.
    if (!this.input.write(Buffer.from(frame))) {
      await Promise.race([once(this.input, 'drain'), this.finished]);
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Ends the video and puts it in place; returns its path. */
  async finish(): Promise<string> {
    if (this.framesWritten !== this.options.expectedFrames) {
      throw new Error(
        `The video has ${this.framesWritten} frames; ${this.options.expectedFrames} were expected.`,
      );
    }
    this.input.end();
    await this.finished;
    // Durable before visible: a crash after the rename must not leave a truncated out.mp4.
    const file = await open(this.temporaryPath, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(this.temporaryPath, this.path);
    return this.path;
  }

  /** Stops ffmpeg and removes the temporary file. */
  async abort(): Promise<void> {
    this.input.destroy();
    this.command.kill('SIGKILL');
    await this.finished.catch(() => undefined);
    await rm(this.temporaryPath, { force: true });
  }
}

/**
 * Creates the job's folder (and the folders above it when missing) with a plain mkdir first: a
 * recursive one reports ENOENT instead of EROFS on a read-only file system (libuv), and the
 * user should hear what is really wrong (read-only, not a folder, no permission).
 */
async function makeDirectory(directory: string): Promise<void> {
  const makeOne = async (): Promise<void> => {
    try {
      await mkdir(directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  };
  try {
    await makeOne();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(directory), { recursive: true });
    await makeOne();
  }
}

/** Removes what an earlier, interrupted attempt at the same job left behind. */
async function removeTemporaryFiles(directory: string): Promise<void> {
  const names = await readdir(directory);
  await Promise.all(
    names
      .filter((name) => name.startsWith(TEMPORARY_PREFIX) && name.endsWith(TEMPORARY_SUFFIX))
      .map((name) => rm(join(directory, name), { force: true })),
  );
}
