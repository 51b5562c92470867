import type { Job } from '@zeus/client';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

/**
 * A terminal 100 columns wide that keeps what cli-progress draws: each redraw moves the cursor
 * (escape sequences) and then writes the whole bar as one plain string.
 */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 100;
  readonly writes: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.writes.push(chunk.toString());
    done();
  }

  /** The text after the bar ("Denoising · step 2 of 8 · about 12 s left") of each redraw. */
  texts(): string[] {
    return this.writes
      .filter((text) => !text.includes('\x1B') && text.includes(' | '))
      .map((line) => line.slice(line.indexOf(' | ') + 3).trimEnd());
  }
}

describe('HumanReporter on a terminal', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: STARTED + 4_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts the time left down between the server's updates and stops at the end", () => {
    const terminal = new FakeTerminal();
    const stderr = recorder();
    const reporter = new HumanReporter(
      recorder(),
      stderr,
      terminal as unknown as NodeJS.WriteStream,
      () => Date.now(),
    );
    reporter.update(running(2, 16));
    vi.advanceTimersByTime(1_000);
    vi.advanceTimersByTime(3_000);
    // The next update moves the estimate back: the bar goes by the server's new figure.
    reporter.update(running(4, 14));
    vi.advanceTimersByTime(2_000);
    vi.advanceTimersByTime(5_000);
    expect(terminal.texts()).toEqual([
      'Denoising · step 2 of 8 · about 12 s left',
      'Denoising · step 2 of 8 · about 11 s left',
      'Denoising · step 2 of 8 · about 10 s left',
      'Denoising · step 2 of 8 · about 9 s left',
      'Denoising · step 2 of 8 · about 8 s left',
      'Denoising · step 4 of 8 · about 6 s left',
      'Denoising · step 4 of 8 · about 5 s left',
      'Denoising · step 4 of 8 · about 4 s left',
      'Denoising · step 4 of 8 · about 3 s left',
      'Denoising · step 4 of 8 · about 2 s left',
      'Denoising · step 4 of 8 · about 1 s left',
      'Denoising · step 4 of 8 · almost done',
    ]);
    expect(terminal.writes.join('')).toContain(' 50% | Denoising · step 4 of 8 · almost done');

    const done = job({
      status: 'SUCCEEDED',
      stage: 'DONE',
      progress: 1,
      queuePosition: null,
      videoUrl: '/generated/job-1/out.mp4',
    });
    reporter.update(done);
    reporter.succeeded(done, 'http://zeus.test');
    reporter.close();
    const drawn = terminal.writes.length;
    expect(terminal.texts().at(-1)).toBe('Done');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(terminal.writes).toHaveLength(drawn);
    expect(stderr.text()).toBe('Done: http://zeus.test/generated/job-1/out.mp4\n');
  });

  it("counts a queued job's start down, and stops ticking when the job fails", () => {
    const terminal = new FakeTerminal();
    const stderr = recorder();
    const reporter = new HumanReporter(
      recorder(),
      stderr,
      terminal as unknown as NodeJS.WriteStream,
      () => Date.now(),
    );
    reporter.update(
      job({ queuePosition: 1, estimatedStartAt: new Date(STARTED + 6_000).toISOString() }),
    );
    vi.advanceTimersByTime(1_000);
    vi.advanceTimersByTime(1_000);
    const failed = job({
      status: 'FAILED',
      stage: 'DONE',
      queuePosition: null,
      error: { code: 'WORKER_LOST', message: 'the worker stopped' },
    });
    reporter.update(failed);
    expect(vi.getTimerCount()).toBe(1); // cli-progress's own redraw, until the bar stops
    reporter.jobFailed(failed);
    expect(vi.getTimerCount()).toBe(0);
    expect(terminal.texts()).toEqual([
      'Next in the queue · starts in about 2 s',
      'Next in the queue · starts in about 1 s',
      'Next in the queue',
      'Failed',
    ]);
    expect(stderr.text()).toBe('Job job-1 failed: the worker stopped (WORKER_LOST)\n');
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
