/**
 * The worker's poster step: after the MP4 is complete and before it is published, its first
 * frame is stored next to it (`generated/<id>/poster.jpg`, through the output store, so a bucket
 * gets it too) and its URL goes into the job's record. A poster that cannot be made is logged
 * and left out (the job's `posterUrl` stays null): it is a convenience, never worth a video.
 */
import { outputPath, type Logger, type OutputStore } from '@zeus/core';
import { extractPoster, POSTER_FILE_NAME } from '../video/poster.ts';

export async function publishPoster(options: {
  readonly outputs: Pick<OutputStore, 'putBytes'>;
  readonly jobId: string;
  /** The finished MP4, still in the job's staging folder. */
  readonly videoFile: string;
  readonly logger: Pick<Logger, 'warn'>;
}): Promise<string | null> {
  try {
    const jpeg = await extractPoster(options.videoFile);
    await options.outputs.putBytes(options.jobId, POSTER_FILE_NAME, jpeg, 'image/jpeg');
    return outputPath(options.jobId, POSTER_FILE_NAME);
  } catch (error) {
    options.logger.warn({ err: error }, 'the video has no poster: it could not be made');
    return null;
  }
}
