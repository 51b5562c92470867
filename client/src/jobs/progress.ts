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
 * Seconds left by the server's estimate (`estimatedFinishAt`: from the worker's own measured
 * steps and the installation's average stage times, or, while queued, from the queue ahead),
 * counted down on this clock between updates; null when the server has none.
 */
export function estimateSecondsLeft(
  job: Pick<Job, 'status' | 'estimatedFinishAt'>,
  now: number,
): number | null {
  if (job.status !== 'RUNNING' && job.status !== 'QUEUED') return null;
  return secondsUntil(job.estimatedFinishAt, now);
}

/** Seconds until a queued job is expected to start; null when not queued or not known. */
export function estimateSecondsToStart(
  job: Pick<Job, 'status' | 'estimatedStartAt'>,
  now: number,
): number | null {
  if (job.status !== 'QUEUED') return null;
  return secondsUntil(job.estimatedStartAt, now);
}

function secondsUntil(instant: string | null, now: number): number | null {
  if (instant === null) return null;
  const at = Date.parse(instant);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}

/** "Expires in 6 d 23 h" for a finished job the server will remove; null when it is kept. */
export function describeExpiry(job: Pick<Job, 'expiresAt'>, now: number): string | null {
  const seconds = secondsUntil(job.expiresAt, now);
  if (seconds === null) return null;
  return seconds < 1 ? 'Expires now' : `Expires in ${formatDuration(seconds)}`;
}

/** "3 s", "2 min 5 s", "1 h 4 min", "6 d 23 h". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) {
    const rest = whole % 60;
    return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const restMinutes = minutes % 60;
    return restMinutes === 0 ? `${hours} h` : `${hours} h ${restMinutes} min`;
  }
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours === 0 ? `${days} d` : `${days} d ${restHours} h`;
}

/** One line under the bar, also its `aria-valuetext`: where the job is, in words. */
export function describeProgress(
  job: Pick<
    Job,
    | 'status'
    | 'stage'
    | 'progress'
    | 'step'
    | 'totalSteps'
    | 'queuePosition'
    | 'estimatedStartAt'
    | 'estimatedFinishAt'
  >,
  now: number,
): string {
  switch (job.status) {
    case 'QUEUED': {
      const place =
        job.queuePosition === null
          ? 'Waiting in the queue'
          : job.queuePosition === 1
            ? 'Next in the queue'
            : `Waiting in the queue, position ${job.queuePosition}`;
      const startsIn = estimateSecondsToStart(job, now);
      return startsIn === null || startsIn < 1
        ? place
        : `${place} · starts in about ${formatDuration(startsIn)}`;
    }
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
