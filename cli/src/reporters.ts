/**
 * How `zeus generate` tells the user what happens: a progress bar on a terminal, one line per
 * change when the output is a file or a pipe, or one JSON object per line with `--json`.
 */
import {
  describeProgress,
  describeSettings,
  estimateSecondsLeft,
  isFinal,
  progressPercent,
  type Job,
} from '@zeus/client';
import { SingleBar } from 'cli-progress';
import { clearLine, cursorTo } from 'node:readline';

export interface Reporter {
  submitted(job: Job): void;
  update(job: Job): void;
  reconnecting(): void;
  reconnected(): void;
  succeeded(job: Job, url: string): void;
  downloaded(job: Job, file: string, bytes: number): void;
  /** The job ended FAILED or CANCELLED. */
  jobFailed(job: Job): void;
  /** The request failed (bad input, Zeus unreachable, download failed). */
  error(message: string, code: string, field: string | null): void;
  /** Stops any live display; called once at the end. */
  close(): void;
}

/** Where text goes: `process.stdout`/`process.stderr`, or a test's recorder. */
export interface Output {
  write(text: string): unknown;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function failureMessage(job: Job): string {
  if (job.status === 'CANCELLED') return `Job ${job.id} was cancelled.`;
  return `Job ${job.id} failed: ${job.error?.message ?? 'no reason given'}${job.error === null ? '' : ` (${job.error.code})`}`;
}

/** How often the terminal's time left is redrawn between the server's updates. */
const TICK_MS = 1_000;

/**
 * For people: chatter and progress on stderr; the saved file's path alone on stdout, so
 * `file=$(zeus generate "…")` works.
 */
export class HumanReporter implements Reporter {
  #bar: SingleBar | null = null;
  #lastKey = '';
  /** The job as last received, redrawn by `#ticker` against the clock between updates. */
  #shown: Job | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;
  readonly #now: () => number;

  /**
   * `terminal`: stderr when it is a terminal, where a progress bar is redrawn in place; without
   * one, each change of the job is a line of its own.
   */
  constructor(
    private readonly stdout: Output,
    private readonly stderr: Output,
    private readonly terminal: NodeJS.WriteStream | null,
    now: () => number = Date.now,
  ) {
    this.#now = now;
  }

  submitted(job: Job): void {
    this.stderr.write(`Queued job ${job.id}: ${describeSettings(job.settings)}\n`);
  }

  update(job: Job): void {
    const percent = progressPercent(job);
    const text = describeProgress(job, this.#now());
    if (this.terminal === null) {
      // Logs and pipes get one line per change of state, stage, step or queue position.
      const key = `${job.status} ${job.stage} ${job.step} ${job.queuePosition ?? ''}`;
      if (key !== this.#lastKey) {
        this.#lastKey = key;
        this.stderr.write(`[${String(percent).padStart(3)}%] ${text}\n`);
      }
      return;
    }
    this.#shown = job;
    if (this.#bar === null) {
      this.#bar = new SingleBar({
        format: ' {bar} {percentage}% | {text}',
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        // Redrawn even when its text is unchanged, so it reappears below an interrupting line.
        forceRedraw: true,
        stream: this.terminal,
      });
      this.#bar.start(100, percent, { text });
    } else {
      this.#bar.update(percent, { text });
    }
    if (isFinal(job)) this.#stopTicker();
    else this.#startTicker();
  }

  reconnecting(): void {
    this.#interrupt('Reconnecting to Zeus…');
  }

  reconnected(): void {
    this.#interrupt('Reconnected.');
  }

  succeeded(job: Job, url: string): void {
    this.#stopBar();
    this.stderr.write(`Done: ${url}${job.videoUrl ?? ''}\n`);
  }

  downloaded(_job: Job, file: string, bytes: number): void {
    this.stderr.write(`Saved ${file} (${formatBytes(bytes)})\n`);
    this.stdout.write(`${file}\n`);
  }

  jobFailed(job: Job): void {
    this.#stopBar();
    this.stderr.write(`${failureMessage(job)}\n`);
  }

  error(message: string): void {
    this.#stopBar();
    this.stderr.write(`zeus: ${message}\n`);
  }

  close(): void {
    this.#stopBar();
  }

  /** A line of its own above the bar: the bar's line is cleared for it and drawn again below. */
  #interrupt(message: string): void {
    if (this.#bar === null || this.terminal === null) {
      this.stderr.write(`${message}\n`);
      return;
    }
    cursorTo(this.terminal, 0);
    clearLine(this.terminal, 0);
    this.stderr.write(`${message}\n`);
    this.#bar.render();
  }

  /**
   * The server sends an update when the job changes, not every second; like the web app, the
   * bar counts the time left down from the server's `estimatedFinishAt` (and a queued job's
   * `estimatedStartAt`) on this machine's clock in between.
   */
  #startTicker(): void {
    if (this.#ticker !== null) return;
    this.#ticker = setInterval(() => {
      if (this.#bar === null || this.#shown === null) return;
      this.#bar.update({ text: describeProgress(this.#shown, this.#now()) });
    }, TICK_MS);
    // The command ends when its work does; a forgotten display must not hold the process open.
    this.#ticker.unref();
  }

  #stopTicker(): void {
    if (this.#ticker === null) return;
    clearInterval(this.#ticker);
    this.#ticker = null;
  }

  #stopBar(): void {
    this.#stopTicker();
    this.#shown = null;
    if (this.#bar === null) return;
    this.#bar.stop();
    this.#bar = null;
  }
}

/** One JSON object per line on stdout, each with an `event` field. */
export class JsonReporter implements Reporter {
  readonly #now: () => number;

  constructor(
    private readonly stdout: Output,
    now: () => number = Date.now,
  ) {
    this.#now = now;
  }

  #emit(event: string, fields: Record<string, unknown>): void {
    this.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
  }

  submitted(job: Job): void {
    this.#emit('submitted', { id: job.id, status: job.status, settings: job.settings });
  }

  update(job: Job): void {
    this.#emit('progress', {
      id: job.id,
      status: job.status,
      stage: job.stage,
      progress: job.progress,
      percent: progressPercent(job),
      step: job.step,
      totalSteps: job.totalSteps,
      queuePosition: job.queuePosition,
      secondsLeft: estimateSecondsLeft(job, this.#now()),
    });
  }

  reconnecting(): void {
    this.#emit('reconnecting', {});
  }

  reconnected(): void {
    this.#emit('reconnected', {});
  }

  succeeded(job: Job, url: string): void {
    this.#emit('succeeded', {
      id: job.id,
      videoUrl: job.videoUrl,
      url: `${url}${job.videoUrl ?? ''}`,
    });
  }

  downloaded(job: Job, file: string, bytes: number): void {
    this.#emit('downloaded', { id: job.id, file, bytes });
  }

  jobFailed(job: Job): void {
    this.#emit('failed', {
      id: job.id,
      status: job.status,
      error: job.error,
      message: failureMessage(job),
    });
  }

  error(message: string, code: string, field: string | null): void {
    this.#emit('error', { code, message, field });
  }

  close(): void {
    // Nothing to tidy: every event is already a whole line.
  }
}
