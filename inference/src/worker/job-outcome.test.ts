import { JobConflictError, JobFailure } from '@zeus/core';
import { describe, expect, it } from 'vitest';
import {
  classifyJobEnd,
  gaveUpFailure,
  ignoreConflict,
  JobCancelled,
  needsStoredStatus,
  stopCause,
  WorkerShutdown,
} from './job-outcome.ts';

const aborted = (reason: unknown): AbortSignal => {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
};
const conflict = (reason: JobConflictError['reason']): JobConflictError =>
  new JobConflictError(reason, `refused: ${reason}`);
/** What a pipeline throws when its signal is aborted. */
const abortEcho = new DOMException('This operation was aborted', 'AbortError');

describe('stopCause', () => {
  it("is the abort's reason when the signal was aborted, else what the run threw", () => {
    const shutdown = new WorkerShutdown();
    expect(stopCause(abortEcho, aborted(shutdown))).toBe(shutdown);
    const thrown = new Error('boom');
    expect(stopCause(thrown, new AbortController().signal)).toBe(thrown);
  });
});

describe('classifyJobEnd', () => {
  it('hands the job back when the worker stops, whatever the run threw', () => {
    const cause = new WorkerShutdown();
    expect(needsStoredStatus(cause)).toBe(false);
    expect(classifyJobEnd({ error: abortEcho, cause, storedStatus: null })).toEqual({
      outcome: 'released',
    });
  });

  it('stops a job cancelled on its channel without reading its status', () => {
    const cause = new JobCancelled();
    expect(needsStoredStatus(cause)).toBe(false);
    expect(classifyJobEnd({ error: abortEcho, cause, storedStatus: null })).toEqual({
      outcome: 'cancelled',
    });
  });

  it('takes a refused update for a cancel when the job is stored CANCELLED', () => {
    const cause = conflict('final');
    expect(needsStoredStatus(cause)).toBe(true);
    expect(classifyJobEnd({ error: cause, cause, storedStatus: 'CANCELLED' })).toEqual({
      outcome: 'cancelled',
    });
  });

  it('stops an attempt a retry took over, or a job that ended elsewhere', () => {
    const stale = conflict('stale-attempt');
    expect(classifyJobEnd({ error: abortEcho, cause: stale, storedStatus: 'RUNNING' })).toEqual({
      outcome: 'superseded',
      reason: 'stale-attempt',
    });
    const final = conflict('final');
    expect(classifyJobEnd({ error: final, cause: final, storedStatus: 'FAILED' })).toEqual({
      outcome: 'superseded',
      reason: 'final',
    });
    // The status could not be read.
    expect(classifyJobEnd({ error: final, cause: final, storedStatus: null })).toEqual({
      outcome: 'superseded',
      reason: 'final',
    });
  });

  it('fails anything else, described from what the run threw', () => {
    const invalid = new JobFailure('INVALID_JOB', 'The prompt is too long.');
    expect(needsStoredStatus(invalid)).toBe(false);
    expect(classifyJobEnd({ error: invalid, cause: invalid, storedStatus: null })).toEqual({
      outcome: 'failed',
      failure: { code: 'INVALID_JOB', message: 'The prompt is too long.' },
    });
    // Aborted for another reason (a progress update Redis refused): the run's own error is told.
    const publishError = new Error('Connection is closed.');
    expect(classifyJobEnd({ error: invalid, cause: publishError, storedStatus: null })).toEqual({
      outcome: 'failed',
      failure: { code: 'INVALID_JOB', message: 'The prompt is too long.' },
    });
    const boom = new Error('boom at /srv/zeus/x.ts:3');
    expect(classifyJobEnd({ error: boom, cause: boom, storedStatus: null })).toEqual({
      outcome: 'failed',
      failure: { code: 'INTERNAL_ERROR', message: 'The worker failed unexpectedly.' },
    });
  });
});

describe('gaveUpFailure', () => {
  it('tells a job that stalled too often from one whose processing threw', () => {
    expect(gaveUpFailure('job stalled more than allowable limit')).toEqual({
      code: 'WORKER_LOST',
      message: 'The workers generating this job stopped too many times; it was given up.',
    });
    expect(gaveUpFailure('A job was delivered before the model was ready')).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'The worker could not run this job.',
    });
  });
});

describe('ignoreConflict', () => {
  it('swallows a conflict (someone else settled the job) and rethrows anything else', () => {
    expect(() => {
      ignoreConflict(conflict('final'));
    }).not.toThrow();
    const other = new Error('Connection is closed.');
    expect(() => {
      ignoreConflict(other);
    }).toThrow(other);
  });
});
