/**
 * How a job's run ended when it did not succeed, decided from what stopped it: the worker
 * stopping (the job goes back to the queue), a user's cancel (stopped, its files removed), the
 * job no longer this attempt's (a retry took it over, or it ended elsewhere), or a failure its
 * user is told about. Pure: job-runner.ts reads what these need and acts on the answer.
 */
import { JobConflictError, type JobErrorCode, type JobStatus } from '@zeus/core';
import { describeFailure, type FailureDescription } from './failures.ts';
import type { JobOutcome } from './metrics.ts';

/** Why a job was interrupted when the worker stops: it goes back to the queue. */
export class WorkerShutdown extends Error {
  override readonly name = 'WorkerShutdown';
}

/** Why a job was interrupted when a user cancelled it (`cancelJob`): it stops, files removed. */
export class JobCancelled extends Error {
  override readonly name = 'JobCancelled';
}

/** A run's end other than success, with what acting on it needs. */
export type JobEnd =
  | { readonly outcome: Extract<JobOutcome, 'released' | 'cancelled'> }
  | { readonly outcome: 'superseded'; readonly reason: JobConflictError['reason'] }
  | { readonly outcome: 'failed'; readonly failure: FailureDescription };

/**
 * Why a run stopped: the reason its signal was aborted with, when it was (the error the run
 * threw is then only the abort's echo), else what it threw.
 */
export function stopCause(error: unknown, signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : error;
}

/**
 * Whether telling this cause's end needs the job's stored status: a refused update may be the
 * first sign of a cancel (even after the video was written, when the cancel came while saving).
 */
export function needsStoredStatus(cause: unknown): boolean {
  return cause instanceof JobConflictError;
}

export interface StoppedRun {
  /** What the run threw. */
  readonly error: unknown;
  /** `stopCause(error, signal)`. */
  readonly cause: unknown;
  /** The job's stored status when `needsStoredStatus(cause)`, else null. */
  readonly storedStatus: JobStatus | null;
}

/** How a run that threw ended; a failure is described from what the run threw. */
export function classifyJobEnd({ error, cause, storedStatus }: StoppedRun): JobEnd {
  if (cause instanceof WorkerShutdown) return { outcome: 'released' };
  // Cancelled: heard on the job's channel, or found so by an update.
  if (
    cause instanceof JobCancelled ||
    (cause instanceof JobConflictError && storedStatus === 'CANCELLED')
  ) {
    return { outcome: 'cancelled' };
  }
  if (cause instanceof JobConflictError) return { outcome: 'superseded', reason: cause.reason };
  return { outcome: 'failed', failure: describeFailure(error) };
}

/**
 * What a job is failed with when BullMQ gave up on it: it stalled (its workers died holding it)
 * too many times, or its processing threw.
 */
export function gaveUpFailure(reason: string): {
  readonly code: Extract<JobErrorCode, 'WORKER_LOST' | 'INTERNAL_ERROR'>;
  readonly message: string;
} {
  return /stalled/.test(reason)
    ? {
        code: 'WORKER_LOST',
        message: 'The workers generating this job stopped too many times; it was given up.',
      }
    : { code: 'INTERNAL_ERROR', message: 'The worker could not run this job.' };
}

/** Conflicts mean someone else already settled the job: nothing to do. */
export function ignoreConflict(error: unknown): void {
  if (!(error instanceof JobConflictError)) throw error;
}
