/**
 * What a job's progress bar says: its percentage, its stage in words and the time left. Pure, so
 * the words are tested without a browser.
 */
import type { Job, JobStage, JobStatus } from '../api/operations.ts';

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** True once the job will not change any more. */
export function isFinal(job: Pick<Job, 'status'>): boolean {
  return FINAL_STATUSES.has(job.status);
}

const STAGE_LABELS: Record<JobStage, string> = {
  QUEUED: 'Waiting in the queue',
  LOADING_MODEL: 'Loading the model',
  ENCODING_PROMPT: 'Reading the prompt',
  DENOISING: 'Denoising',
  DECODING: 'Decoding frames',
  SAVING: 'Saving the video',
  DONE: 'Done',
};

export function stageLabel(stage: JobStage): string {
  return STAGE_LABELS[stage];
}

/** The bar's `aria-valuenow`: a whole percentage, 100 once the job succeeded. */
export function progressPercent(job: Pick<Job, 'status' | 'progress'>): number {
  if (job.status === 'SUCCEEDED') return 100;
  const percent = Math.round(job.progress * 100);
  return Math.min(100, Math.max(0, Number.isFinite(percent) ? percent : 0));
}

/**
 * Seconds left, extrapolated from the time since the worker started the job and the progress
 * made since; `null` until there is something to go on: before the first denoising step the
 * time spent loading the model and reading the prompt says nothing about the rest.
 */
export function estimateSecondsLeft(
  job: Pick<Job, 'status' | 'stage' | 'step' | 'progress' | 'startedAt'>,
  now: number,
): number | null {
  if (job.status !== 'RUNNING' || job.startedAt === null) return null;
  const underway =
    (job.stage === 'DENOISING' && job.step >= 1) ||
    job.stage === 'DECODING' ||
    job.stage === 'SAVING';
  if (!underway || job.progress <= 0 || job.progress >= 1) return null;
  const elapsed = (now - Date.parse(job.startedAt)) / 1000;
  if (!Number.isFinite(elapsed) || elapsed <= 0) return null;
  return (elapsed * (1 - job.progress)) / job.progress;
}

/** "3 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) {
    const rest = whole % 60;
    return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  }
  const hours = Math.floor(minutes / 60);
  const restMinutes = minutes % 60;
  return restMinutes === 0 ? `${hours} h` : `${hours} h ${restMinutes} min`;
}

/** One line under the bar, also its `aria-valuetext`: where the job is, in words. */
export function describeProgress(
  job: Pick<
    Job,
    'status' | 'stage' | 'progress' | 'step' | 'totalSteps' | 'queuePosition' | 'startedAt'
  >,
  now: number,
): string {
  switch (job.status) {
    case 'QUEUED':
      return job.queuePosition === null
        ? 'Waiting in the queue'
        : job.queuePosition === 1
          ? 'Next in the queue'
          : `Waiting in the queue, position ${job.queuePosition}`;
    case 'RUNNING': {
      const parts = [stageLabel(job.stage)];
      if (job.stage === 'DENOISING' && job.totalSteps > 0) {
        parts.push(`step ${job.step} of ${job.totalSteps}`);
      }
      const secondsLeft = estimateSecondsLeft(job, now);
      if (secondsLeft !== null) {
        parts.push(secondsLeft < 1 ? 'almost done' : `about ${formatDuration(secondsLeft)} left`);
      }
      return parts.join(' · ');
    }
    case 'SUCCEEDED':
      return 'Done';
    case 'FAILED':
      return 'Failed';
    case 'CANCELLED':
      return 'Cancelled';
  }
}

/** Length of the video in seconds: frames over frame rate. */
export function videoSeconds(settings: { numFrames: number; frameRate: number }): number {
  return settings.numFrames / settings.frameRate;
}

/** "256×256 · 17 frames at 25 fps (0.68 s) · seed 42" */
export function describeSettings(settings: {
  width: number;
  height: number;
  numFrames: number;
  frameRate: number;
  seed?: number;
}): string {
  const seconds = videoSeconds(settings);
  const length = seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
  const parts = [
    `${settings.width}×${settings.height}`,
    `${settings.numFrames} frames at ${settings.frameRate} fps (${length} s)`,
  ];
  if (settings.seed !== undefined) parts.push(`seed ${settings.seed}`);
  return parts.join(' · ');
}
