import { describe, expect, it } from 'vitest';
import { JobConflictError } from './errors.ts';
import type { Job } from './job.ts';
import { applyJobEvent, newJob, overallProgress, type JobEvent } from './job-state.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:00:01.000Z');
const t2 = new Date('2026-01-01T00:00:02.000Z');

function queued(): Job {
  return newJob({
    id: '00000000-0000-4000-8000-000000000001',
    settings: {
      prompt: 'p',
      negativePrompt: '',
      width: 64,
      height: 64,
      numFrames: 9,
      frameRate: 8,
      seed: 1,
    },
    model: 'tiny-random',
    totalSteps: 8,
    now: t0,
  });
}

const start: JobEvent = { type: 'start', workerId: 'w1', totalSteps: 8 };

function conflictReason(job: Job, event: JobEvent): string {
  try {
    applyJobEvent(job, event, t2);
  } catch (error) {
    expect(error).toBeInstanceOf(JobConflictError);
    return (error as JobConflictError).reason;
  }
  throw new Error('expected a conflict');
}

describe('job state machine', () => {
  it('creates queued jobs at version 1', () => {
    expect(queued()).toMatchObject({
      status: 'QUEUED',
      stage: 'QUEUED',
      progress: 0,
      attempts: 0,
      version: 1,
      createdAt: t0.toISOString(),
      updatedAt: t0.toISOString(),
      startedAt: null,
    });
  });

  it('runs QUEUED → RUNNING → SUCCEEDED, one version per change', () => {
    const running = applyJobEvent(queued(), start, t1);
    expect(running).toMatchObject({
      status: 'RUNNING',
      stage: 'LOADING_MODEL',
      attempts: 1,
      workerId: 'w1',
      version: 2,
      startedAt: t1.toISOString(),
    });
    const denoising = applyJobEvent(
      running,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 4 },
      t1,
    );
    expect(denoising).toMatchObject({ stage: 'DENOISING', step: 4, version: 3 });
    expect(denoising.progress).toBeCloseTo(0.5);
    const done = applyJobEvent(
      denoising,
      {
        type: 'succeed',
        attempt: 1,
        videoUrl: '/generated/x/out.mp4',
        posterUrl: '/generated/x/poster.jpg',
      },
      t2,
    );
    expect(done.posterUrl).toBe('/generated/x/poster.jpg');
    // Without a poster (it could not be made), the record says so.
    expect(
      applyJobEvent(denoising, { type: 'succeed', attempt: 1, videoUrl: '/v' }, t2).posterUrl,
    ).toBeNull();
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      stage: 'DONE',
      progress: 1,
      step: 8,
      videoUrl: '/generated/x/out.mp4',
      finishedAt: t2.toISOString(),
      version: 4,
    });
  });

  it('retries a running job as a new attempt with progress reset', () => {
    const first = applyJobEvent(queued(), start, t1);
    const progressed = applyJobEvent(
      first,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 6 },
      t1,
    );
    const retried = applyJobEvent(progressed, { ...start, workerId: 'w2' }, t2);
    expect(retried).toMatchObject({
      status: 'RUNNING',
      stage: 'LOADING_MODEL',
      step: 0,
      progress: 0,
      attempts: 2,
      workerId: 'w2',
      startedAt: t1.toISOString(),
    });
    // The first worker comes back to life: its updates no longer apply.
    expect(
      conflictReason(retried, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 7 }),
    ).toBe('stale-attempt');
    expect(conflictReason(retried, { type: 'succeed', attempt: 1, videoUrl: '/v' })).toBe(
      'stale-attempt',
    );
    expect(applyJobEvent(retried, { type: 'succeed', attempt: 2, videoUrl: '/v' }, t2).status).toBe(
      'SUCCEEDED',
    );
  });

  it('keeps final states final', () => {
    const running = applyJobEvent(queued(), start, t1);
    const finals = [
      applyJobEvent(running, { type: 'succeed', attempt: 1, videoUrl: '/v' }, t2),
      applyJobEvent(running, { type: 'fail', attempt: 1, code: 'MODEL_FAILED', message: 'm' }, t2),
      applyJobEvent(running, { type: 'cancel' }, t2),
    ];
    for (const job of finals) {
      expect(conflictReason(job, start)).toBe('final');
      expect(conflictReason(job, { type: 'succeed', attempt: 1, videoUrl: '/v' })).toBe('final');
      expect(conflictReason(job, { type: 'fail', code: 'WORKER_LOST', message: 'x' })).toBe(
        'final',
      );
      expect(conflictReason(job, { type: 'cancel' })).toBe('final');
    }
  });

  it('fails with a code and message, from a worker or from outside', () => {
    const running = applyJobEvent(queued(), start, t1);
    expect(
      applyJobEvent(
        running,
        { type: 'fail', attempt: 1, code: 'ENCODER_FAILED', message: 'ffmpeg exited' },
        t2,
      ),
    ).toMatchObject({
      status: 'FAILED',
      stage: 'DONE',
      error: { code: 'ENCODER_FAILED', message: 'ffmpeg exited' },
      finishedAt: t2.toISOString(),
    });
    expect(
      applyJobEvent(queued(), { type: 'fail', code: 'INVALID_JOB', message: 'bad' }, t2).status,
    ).toBe('FAILED');
    expect(applyJobEvent(queued(), { type: 'cancel' }, t2).status).toBe('CANCELLED');
  });

  it('cancels a queued job, and a running one at any stage, ending CANCELLED', () => {
    const cancelledQueued = applyJobEvent(queued(), { type: 'cancel' }, t1);
    expect(cancelledQueued).toMatchObject({
      status: 'CANCELLED',
      stage: 'DONE',
      error: null,
      finishedAt: t1.toISOString(),
      startedAt: null,
      version: 2,
    });
    // A worker that took the job from the queue just then cannot start it.
    expect(conflictReason(cancelledQueued, start)).toBe('final');

    const denoising = applyJobEvent(
      applyJobEvent(queued(), start, t1),
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 3, etaSeconds: 12 },
      t1,
    );
    const cancelledRunning = applyJobEvent(denoising, { type: 'cancel' }, t2);
    expect(cancelledRunning).toMatchObject({
      status: 'CANCELLED',
      stage: 'DONE',
      step: 3,
      etaSeconds: null,
      finishedAt: t2.toISOString(),
      videoUrl: null,
    });
    // The worker's next progress, success or failure finds the job over: it stops.
    expect(
      conflictReason(cancelledRunning, {
        type: 'progress',
        attempt: 1,
        stage: 'DENOISING',
        step: 4,
      }),
    ).toBe('final');
    expect(conflictReason(cancelledRunning, { type: 'succeed', attempt: 1, videoUrl: '/v' })).toBe(
      'final',
    );
  });

  it('carries priority, retry, batch and webhook from submission, and the ETA while running', () => {
    const job = newJob({
      id: '00000000-0000-4000-8000-000000000002',
      settings: queued().settings,
      model: 'tiny-random',
      totalSteps: 8,
      now: t0,
      priority: 5,
      retryOf: '00000000-0000-4000-8000-000000000001',
      batchId: '00000000-0000-4000-8000-0000000000b1',
      webhook: { url: 'https://example.com/hook', events: 'STAGES' },
    });
    expect(job).toMatchObject({
      priority: 5,
      retryOf: '00000000-0000-4000-8000-000000000001',
      batchId: '00000000-0000-4000-8000-0000000000b1',
      webhook: { url: 'https://example.com/hook', events: 'STAGES' },
      etaSeconds: null,
    });
    expect(queued()).toMatchObject({ priority: 0, retryOf: null, batchId: null, webhook: null });
    const running = applyJobEvent(job, start, t1);
    const step = applyJobEvent(
      running,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 4, etaSeconds: 7.5 },
      t1,
    );
    expect(step.etaSeconds).toBe(7.5);
    // A retried attempt starts without an estimate; a finished job has none.
    expect(applyJobEvent(step, start, t2).etaSeconds).toBeNull();
    expect(
      applyJobEvent(step, { type: 'succeed', attempt: 1, videoUrl: '/v' }, t2).etaSeconds,
    ).toBeNull();
  });

  it('refuses worker updates on a job that is not running', () => {
    expect(
      conflictReason(queued(), { type: 'progress', attempt: 0, stage: 'DENOISING', step: 1 }),
    ).toBe('wrong-status');
    expect(conflictReason(queued(), { type: 'succeed', attempt: 0, videoUrl: '/v' })).toBe(
      'wrong-status',
    );
  });

  it('refuses progress that goes backwards', () => {
    const running = applyJobEvent(queued(), start, t1);
    const decoding = applyJobEvent(
      running,
      { type: 'progress', attempt: 1, stage: 'DECODING', step: 8 },
      t1,
    );
    expect(
      conflictReason(decoding, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 8 }),
    ).toBe('regression');
    const step5 = applyJobEvent(
      running,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 5 },
      t1,
    );
    expect(
      conflictReason(step5, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 4 }),
    ).toBe('regression');
    // Repeating the same step is allowed (a throttled publisher may flush what it had).
    expect(
      applyJobEvent(step5, { type: 'progress', attempt: 1, stage: 'DENOISING', step: 5 }, t1)
        .version,
    ).toBe(step5.version + 1);
  });

  it('maps stages and steps to an increasing overall progress', () => {
    const points = [
      overallProgress('LOADING_MODEL', 0, 8),
      overallProgress('ENCODING_PROMPT', 0, 8),
      ...Array.from({ length: 9 }, (_, step) => overallProgress('DENOISING', step, 8)),
      overallProgress('DECODING', 8, 8),
      overallProgress('SAVING', 8, 8),
      overallProgress('DONE', 8, 8),
    ];
    for (let i = 1; i < points.length; i += 1) {
      expect(points[i]).toBeGreaterThanOrEqual(points[i - 1] ?? 0);
    }
    expect(points.at(-1)).toBe(1);
    expect(points[0]).toBe(0);
  });
});
