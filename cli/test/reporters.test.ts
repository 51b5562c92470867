import type { Job } from '@zeus/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeTerminal as Vt100 } from '../../tests/helpers/fake-terminal.ts';
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

describe('HumanReporter on a terminal', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: STARTED + 4_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A reporter drawing on a fake terminal, and what its last line says after the bar. */
  function onTerminal() {
    const screen = new Vt100();
    const reporter = new HumanReporter(
      recorder(),
      screen,
      screen as unknown as NodeJS.WriteStream,
      () => Date.now(),
    );
    const barText = () => {
      const line = screen.visible().at(-1) ?? '';
      return line.slice(line.indexOf(' | ') + 3);
    };
    return { screen, reporter, barText };
  }

  it("counts the time left down between the server's updates and stops at the end", () => {
    const { screen, reporter, barText } = onTerminal();
    const seen: string[] = [];
    const wait = (seconds: number) => {
      for (let i = 0; i < seconds; i++) {
        vi.advanceTimersByTime(1_000);
        seen.push(barText());
      }
    };
    reporter.update(running(2, 16));
    seen.push(barText());
    wait(4);
    // The next update moves the estimate back: the bar goes by the server's new figure.
    reporter.update(running(4, 14));
    // cli-progress draws a change at its next frame (every 100 ms); the ticker runs on the second.
    vi.advanceTimersByTime(500);
    seen.push(barText());
    wait(7);
    expect(seen).toEqual([
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
      'Denoising · step 4 of 8 · almost done',
    ]);
    expect(screen.visible()).toEqual([
      ` ${'█'.repeat(20)}${'░'.repeat(20)} 50% | Denoising · step 4 of 8 · almost done`,
    ]);

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
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(screen.visible()).toEqual([
      ` ${'█'.repeat(40)} 100% | Done`,
      'Done: http://zeus.test/generated/job-1/out.mp4',
    ]);
  });

  it("counts a queued job's start down, and stops ticking when the job fails", () => {
    const { screen, reporter, barText } = onTerminal();
    reporter.update(
      job({ queuePosition: 1, estimatedStartAt: new Date(STARTED + 6_000).toISOString() }),
    );
    const seen = [barText()];
    vi.advanceTimersByTime(1_000);
    seen.push(barText());
    vi.advanceTimersByTime(1_000);
    seen.push(barText());
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
    expect(seen).toEqual([
      'Next in the queue · starts in about 2 s',
      'Next in the queue · starts in about 1 s',
      'Next in the queue',
    ]);
    expect(screen.visible()).toEqual([
      ` ${'░'.repeat(40)} 0% | Failed`,
      'Job job-1 failed: the worker stopped (WORKER_LOST)',
    ]);
  });

  it('writes a reconnection message above the bar and draws the bar again below it', () => {
    const { screen, reporter } = onTerminal();
    reporter.update({ ...running(2, 16), estimatedFinishAt: null });
    reporter.reconnecting();
    vi.advanceTimersByTime(1_000);
    reporter.reconnected();
    vi.advanceTimersByTime(1_000);
    expect(screen.visible()).toEqual([
      'Reconnecting to Zeus…',
      'Reconnected.',
      ` ${'█'.repeat(10)}${'░'.repeat(30)} 25% | Denoising · step 2 of 8`,
    ]);
    reporter.close();
    expect(vi.getTimerCount()).toBe(0);
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
