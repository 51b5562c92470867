/**
 * The job state machine, pure: every change to a stored job is computed here from the current
 * record and an event, then written atomically by the job store.
 *
 *   QUEUED ──start──▶ RUNNING ──succeed──▶ SUCCEEDED
 *     │                 │ ▲ └───fail─────▶ FAILED
 *     │                 └─┘ start again (a crashed attempt is retried: attempts + 1)
 *     └──cancel / fail──▶ CANCELLED / FAILED  (a running job can be cancelled or failed too)
 *
 * Final states are final. Updates from a worker carry the attempt number they belong to, so a
 * worker that was presumed dead cannot overwrite the attempt that replaced it.
 */
import { JobConflictError, type JobErrorCode } from './errors.ts';
import {
  isFinalStatus,
  JOB_STAGES,
  type GenerationSettings,
  type Job,
  type JobStage,
  type JobWebhook,
  type WorkStage,
} from './job.ts';
import type { ModelName } from './model-rules.ts';

export type JobEvent =
  /** A worker takes the job: the first attempt, or a retry after a worker was lost. */
  | { readonly type: 'start'; readonly workerId: string; readonly totalSteps: number }
  | {
      readonly type: 'progress';
      readonly attempt: number;
      readonly stage: WorkStage;
      readonly step: number;
      /** The worker's estimate of the seconds left, as of now; null when it has none. */
      readonly etaSeconds?: number | null;
      /** The latest live preview's URL; absent keeps the one the job has. */
      readonly previewUrl?: string | null;
    }
  | {
      readonly type: 'succeed';
      readonly attempt: number;
      readonly videoUrl: string;
      /** The video's poster, when one could be made. */
      readonly posterUrl?: string | null;
    }
  /** `attempt` absent: the failure is not a worker's (for example the job was lost). */
  | {
      readonly type: 'fail';
      readonly attempt?: number;
      readonly code: JobErrorCode;
      readonly message: string;
    }
  /** A user cancels the job (`cancelJob`): a queued job leaves the queue, a running one stops. */
  | { readonly type: 'cancel' };

export function newJob(fields: {
  readonly id: string;
  readonly settings: GenerationSettings;
  readonly model: ModelName;
  readonly totalSteps: number;
  readonly now: Date;
  /** The API key's name that submits it (absent without keys). */
  readonly owner?: string | null;
  /** Within PRIORITY_RANGE; 0 when absent. */
  readonly priority?: number;
  readonly retryOf?: string | null;
  readonly batchId?: string | null;
  readonly webhook?: JobWebhook | null;
}): Job {
  const now = fields.now.toISOString();
  return {
    id: fields.id,
    status: 'QUEUED',
    stage: 'QUEUED',
    progress: 0,
    step: 0,
    totalSteps: fields.totalSteps,
    videoUrl: null,
    error: null,
    settings: fields.settings,
    model: fields.model,
    owner: fields.owner ?? null,
    priority: fields.priority ?? 0,
    retryOf: fields.retryOf ?? null,
    batchId: fields.batchId ?? null,
    webhook: fields.webhook ?? null,
    etaSeconds: null,
    attempts: 0,
    workerId: null,
    version: 1,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
  };
}

/**
 * Share of the overall progress at the start of each stage. Denoising takes most of the time
 * with the real model, so it gets most of the bar; its steps fill it evenly.
 */
const STAGE_PROGRESS: Readonly<Record<JobStage, number>> = {
  QUEUED: 0,
  LOADING_MODEL: 0,
  ENCODING_PROMPT: 0.05,
  DENOISING: 0.1,
  DECODING: 0.9,
  SAVING: 0.97,
  DONE: 1,
};

export function overallProgress(stage: JobStage, step: number, totalSteps: number): number {
  if (stage !== 'DENOISING' || totalSteps <= 0) return STAGE_PROGRESS[stage];
  const done = Math.min(Math.max(step, 0), totalSteps) / totalSteps;
  return STAGE_PROGRESS.DENOISING + (STAGE_PROGRESS.DECODING - STAGE_PROGRESS.DENOISING) * done;
}

/** Returns the job after the event, or throws `JobConflictError` when the event does not apply. */
export function applyJobEvent(job: Job, event: JobEvent, now: Date): Job {
  if (isFinalStatus(job.status)) {
    throw new JobConflictError('final', `Job ${job.id} is already ${job.status}.`);
  }
  const changed = { version: job.version + 1, updatedAt: now.toISOString() };
  switch (event.type) {
    case 'start':
      return {
        ...job,
        ...changed,
        status: 'RUNNING',
        stage: 'LOADING_MODEL',
        progress: 0,
        step: 0,
        totalSteps: event.totalSteps,
        attempts: job.attempts + 1,
        workerId: event.workerId,
        etaSeconds: null,
        previewUrl: null,
        startedAt: job.startedAt ?? changed.updatedAt,
      };
    case 'progress': {
      requireCurrentAttempt(job, event.attempt);
      const stageOrder = JOB_STAGES.indexOf(event.stage) - JOB_STAGES.indexOf(job.stage);
      if (stageOrder < 0 || (stageOrder === 0 && event.step < job.step)) {
        throw new JobConflictError(
          'regression',
          `Job ${job.id} cannot go back from ${job.stage} step ${job.step} to ${event.stage} step ${event.step}.`,
        );
      }
      const step = Math.min(Math.max(event.step, 0), job.totalSteps);
      return {
        ...job,
        ...changed,
        stage: event.stage,
        step,
        progress: overallProgress(event.stage, step, job.totalSteps),
        etaSeconds: event.etaSeconds ?? null,
        previewUrl: event.previewUrl ?? job.previewUrl ?? null,
      };
    }
    case 'succeed':
      requireCurrentAttempt(job, event.attempt);
      return {
        ...job,
        ...changed,
        status: 'SUCCEEDED',
        stage: 'DONE',
        progress: 1,
        step: job.totalSteps,
        videoUrl: event.videoUrl,
        posterUrl: event.posterUrl ?? null,
        etaSeconds: null,
        finishedAt: changed.updatedAt,
      };
    case 'fail':
      if (event.attempt !== undefined) requireCurrentAttempt(job, event.attempt);
      return {
        ...job,
        ...changed,
        status: 'FAILED',
        stage: 'DONE',
        error: { code: event.code, message: event.message },
        etaSeconds: null,
        finishedAt: changed.updatedAt,
      };
    case 'cancel':
      return {
        ...job,
        ...changed,
        status: 'CANCELLED',
        stage: 'DONE',
        etaSeconds: null,
        finishedAt: changed.updatedAt,
      };
  }
}

function requireCurrentAttempt(job: Job, attempt: number): void {
  if (job.status !== 'RUNNING') {
    throw new JobConflictError('wrong-status', `Job ${job.id} is ${job.status}, not RUNNING.`);
  }
  if (attempt !== job.attempts) {
    throw new JobConflictError(
      'stale-attempt',
      `Job ${job.id} is on attempt ${job.attempts}; attempt ${attempt} no longer owns it.`,
    );
  }
}
