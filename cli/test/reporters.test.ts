import type { Job } from '@zeus/client';
import { describe, expect, it } from 'vitest';
import { HumanReporter, JsonReporter } from '../src/reporters.ts';

const STARTED = Date.parse('2026-11-27T14:30:00.000Z');

function job(overrides: Partial<Job>): Job {
  return {
    id: 'job-1',
    status: 'QUEUED',
    stage: 'QUEUED',
    progress: 0,
    step: 0,
    totalSteps: 8,
    queuePosition: 2,
    videoUrl: null,
    error: null,
    settings: {
      prompt: 'a fox',
      negativePrompt: '',
      width: 256,
      height: 256,
      numFrames: 17,
      frameRate: 25,
      seed: 42,
    },
    attempts: 0,
    createdAt: '2026-11-27T14:29:58.000Z',
    startedAt: null,
    finishedAt: null,
    updatedAt: '2026-11-27T14:29:58.000Z',
    priority: 0,
    estimatedStartAt: null,
    estimatedFinishAt: null,
    expiresAt: null,
    retryOf: null,
    batchId: null,
    ...overrides,
  };
}

/** A running job whose server estimate says it finishes `finishIn` seconds after STARTED. */
const running = (step: number, finishIn: number): Job =>
  job({
    status: 'RUNNING',
    stage: 'DENOISING',
    step,
    progress: step / 8,
    queuePosition: null,
    startedAt: new Date(STARTED).toISOString(),
    estimatedFinishAt: new Date(STARTED + finishIn * 1_000).toISOString(),
  });

function recorder(): { write: (text: string) => void; text: () => string } {
  const chunks: string[] = [];
  return {
    write: (text) => {
      chunks.push(text);
    },
    text: () => chunks.join(''),
  };
}

describe('HumanReporter without a terminal', () => {
  it('writes a line per change with the step and the time left, and the file alone on stdout', () => {
    const stdout = recorder();
    const stderr = recorder();
    const reporter = new HumanReporter(stdout, stderr, null, () => STARTED + 4_000);
    reporter.submitted(job({}));
    reporter.update(job({}));
    reporter.update(job({}));
    reporter.update(running(2, 16));
    reporter.update(running(4, 8));
    reporter.reconnecting();
    reporter.reconnected();
    const done = job({
      status: 'SUCCEEDED',
      stage: 'DONE',
      progress: 1,
      queuePosition: null,
      videoUrl: '/generated/job-1/out.mp4',
    });
    reporter.update(done);
    reporter.succeeded(done, 'http://zeus.test');
    reporter.downloaded(done, '/tmp/fox.mp4', 2048);
    reporter.close();
    expect(stderr.text()).toBe(
      [
        'Queued job job-1: 256×256 · 17 frames at 25 fps (0.68 s) · seed 42',
        '[  0%] Waiting in the queue, position 2',
        '[ 25%] Denoising · step 2 of 8 · about 12 s left',
        '[ 50%] Denoising · step 4 of 8 · about 4 s left',
        'Reconnecting to Zeus…',
        'Reconnected.',
        '[100%] Done',
        'Done: http://zeus.test/generated/job-1/out.mp4',
        'Saved /tmp/fox.mp4 (2.0 kB)',
        '',
      ].join('\n'),
    );
    expect(stdout.text()).toBe('/tmp/fox.mp4\n');
  });

  it('says why a job failed', () => {
    const stderr = recorder();
    const reporter = new HumanReporter(recorder(), stderr, null);
    reporter.jobFailed(
      job({
        status: 'FAILED',
        stage: 'DONE',
        error: { code: 'ENCODER_FAILED', message: 'ffmpeg exited with code 1' },
      }),
    );
    expect(stderr.text()).toBe('Job job-1 failed: ffmpeg exited with code 1 (ENCODER_FAILED)\n');
  });
});

describe('JsonReporter', () => {
  it('writes one JSON object per line, each with its event', () => {
    const stdout = recorder();
    const reporter = new JsonReporter(stdout, () => STARTED + 4_000);
    reporter.submitted(job({}));
    reporter.update(running(4, 8));
    reporter.error('width must be a multiple of 32 (got 250).', 'BAD_USER_INPUT', 'width');
    const events = stdout
      .text()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual([
      { event: 'submitted', id: 'job-1', status: 'QUEUED', settings: job({}).settings },
      {
        event: 'progress',
        id: 'job-1',
        status: 'RUNNING',
        stage: 'DENOISING',
        progress: 0.5,
        percent: 50,
        step: 4,
        totalSteps: 8,
        queuePosition: null,
        secondsLeft: 4,
      },
      {
        event: 'error',
        code: 'BAD_USER_INPUT',
        message: 'width must be a multiple of 32 (got 250).',
        field: 'width',
      },
    ]);
  });
});
