/**
 * The job record as Zeus stores it in Redis and relays between processes. The GraphQL `Job`
 * adds `queuePosition`, which is read from the queue when a job is shown, never stored.
 */
import type { JobErrorCode } from './errors.ts';
import type { ImageType } from './images.ts';
import type { ModelName } from './model-rules.ts';

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Stages in the order a job goes through them. */
export const JOB_STAGES = [
  'QUEUED',
  'LOADING_MODEL',
  'ENCODING_PROMPT',
  'DENOISING',
  'DECODING',
  'SAVING',
  'DONE',
] as const;
export type JobStage = (typeof JOB_STAGES)[number];

/** Stages a worker reports while it generates. */
export type WorkStage = Exclude<JobStage, 'QUEUED' | 'DONE'>;

export interface GenerationSettings {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
  readonly frameRate: number;
  readonly seed: number;
  /** Live previews while denoising; absent means on (only `false` is stored). */
  readonly preview?: boolean;
  /** Image-to-video: the first frame to condition on; absent for text-to-video. */
  readonly image?: FirstFrameImage;
}

/**
 * The first-frame image of an image-to-video job: what the upload was. Its bytes are kept apart
 * (uploads.ts), copied to the job when it is submitted.
 */
export interface FirstFrameImage {
  /** The upload it came from (`POST /uploads`); usable again until the upload expires. */
  readonly uploadId: string;
  readonly type: ImageType;
  /** As displayed (EXIF orientation applied). */
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

/** Which changes of a job its webhook is told about. */
export const WEBHOOK_EVENT_SETS = ['FINAL', 'STAGES'] as const;
export type WebhookEventSet = (typeof WEBHOOK_EVENT_SETS)[number];

/** Where a job's changes are POSTed (see webhooks.ts). */
export interface JobWebhook {
  readonly url: string;
  /** `FINAL`: the final state only; `STAGES`: every stage change too. */
  readonly events: WebhookEventSet;
}

/** Job priorities: higher runs first; 0 is everyone's default. */
export const PRIORITY_RANGE = { min: -10, max: 10 } as const;

export interface JobError {
  readonly code: JobErrorCode;
  readonly message: string;
}

export interface Job {
  readonly id: string;
  readonly status: JobStatus;
  readonly stage: JobStage;
  /** Overall progress from 0 to 1. */
  readonly progress: number;
  readonly step: number;
  readonly totalSteps: number;
  readonly videoUrl: string | null;
  /**
   * The latest live preview (a small JPEG of the model's current estimate), published with the
   * progress; null or absent before the first one and when previews are off.
   */
  readonly previewUrl?: string | null;
  /**
   * A still of the finished video (its first frame, a small JPEG next to it), what lists show
   * until the video is played; null or absent when there is none (older jobs, a failed still).
   */
  readonly posterUrl?: string | null;
  readonly error: JobError | null;
  readonly settings: GenerationSettings;
  readonly model: ModelName;
  /**
   * The name of the API key that submitted the job (`ZEUS_API_KEYS`); null or absent when it was
   * submitted without keys. With keys on, only its owner sees it.
   */
  readonly owner?: string | null;
  /** Higher runs first, within PRIORITY_RANGE; absent in records older than priorities: 0. */
  readonly priority?: number;
  /** The FAILED or CANCELLED job this one retries (`retryJob`), if any. */
  readonly retryOf?: string | null;
  /** The batch it was submitted in (`submitBatch`), if any. */
  readonly batchId?: string | null;
  /** Where its changes are POSTed, if anywhere. */
  readonly webhook?: JobWebhook | null;
  /**
   * While RUNNING: the seconds the worker expected the job still to take when it wrote this
   * record (at `updatedAt`), from this job's measured steps and the installation's timings.
   * Null when there is nothing to go on yet, and once the job is over.
   */
  readonly etaSeconds?: number | null;
  /** Times a worker has started the job; also the token that guards a worker's updates. */
  readonly attempts: number;
  /** The worker running the current attempt. */
  readonly workerId: string | null;
  /**
   * Goes up by one with every change. Subscribers drop events whose version is not newer than
   * what they have shown, so reading the state and then receiving events never goes backwards.
   */
  readonly version: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
}

/** A job as users see it: with its place in the queue (1 = next), null unless QUEUED. */
export interface JobView extends Job {
  readonly queuePosition: number | null;
}

const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export function isFinalStatus(status: JobStatus): boolean {
  return FINAL_STATUSES.has(status);
}

/** Where a job's preview after `step` denoising steps is served (next to its video). */
export function previewUrlFor(jobId: string, step: number): string {
  return `/generated/${jobId}/preview-${step}.jpg`;
}

/** Where a job's video is served, relative to the site root (Caddy serves `generated/`). */
export function videoUrlFor(jobId: string): string {
  return `/generated/${jobId}/out.mp4`;
}
