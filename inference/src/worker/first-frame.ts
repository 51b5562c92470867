/**
 * The first-frame image of an image-to-video job, from Redis to the encoder's input: the bytes
 * the job got from its upload (uploads.ts), prepared as inference.py prepares a conditioning
 * image (image/first-frame.ts).
 */
import {
  ImageRejectedError,
  JobFailure,
  type GenerationSettings,
  type UploadStore,
} from '@zeus/core';
import { prepareFirstFrame, type PlanarImage } from '../image/first-frame.ts';

export async function loadFirstFrame(
  uploads: Pick<UploadStore, 'jobImage'>,
  jobId: string,
  settings: GenerationSettings,
): Promise<PlanarImage> {
  const bytes = await uploads.jobImage(jobId);
  if (bytes === null) {
    throw new JobFailure(
      'INVALID_JOB',
      'The first-frame image of this job is no longer stored (a job keeps it for 7 days).',
    );
  }
  try {
    return await prepareFirstFrame(bytes, settings.width, settings.height);
  } catch (error) {
    if (error instanceof ImageRejectedError) {
      throw new JobFailure(
        'INVALID_JOB',
        `The first-frame image cannot be used: ${error.message}`,
        error,
      );
    }
    throw error;
  }
}
