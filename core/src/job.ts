/**
 * The job record as Zeus stores it in Redis and relays between processes. The GraphQL `Job`
 * adds `queuePosition`, which is read from the queue when a job is shown, never stored.
 */
import type { JobErrorCode } from './errors.ts';
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
}

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
  readonly error: JobError | null;
  readonly settings: GenerationSettings;
  readonly model: ModelName;
  /**
   * The name of the API key that submitted the job (`ZEUS_API_KEYS`); null or absent when it was
   * submitted without keys. With keys on, only its owner sees it.
   */
  readonly owner?: string | null;
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

/** Where a job's video is served, relative to the site root (Caddy serves `generated/`). */
export function videoUrlFor(jobId: string): string {
  return `/generated/${jobId}/out.mp4`;
}
