/**
 * Limits how often a job's progress is published. Each update is written to Redis and relayed
 * to every subscriber, so a fast model must not publish thousands; a slow one must still show
 * every step. The rule: publish at once when the last publish is at least `intervalMs` old,
 * otherwise publish the latest update when it is. Steps slower than the interval are therefore
 * each published as they finish; faster ones are coalesced to a few per second. Publishes run
 * one after another, in order.
 *
 * Live previews ride the same updates: `offerPreview` attaches the latest preview's URL to the
 * current stage and step, so a preview is published with the progress (or as its own update
 * when it comes after the step it shows), never separately from it and never out of order.
 */
import type { WorkStage } from '@zeus/core';

export interface ProgressUpdate {
  readonly stage: WorkStage;
  readonly step: number;
  /** The latest live preview's URL, once there is one. */
  readonly previewUrl?: string;
}

export interface ProgressThrottleOptions {
  readonly intervalMs: number;
  readonly publish: (update: ProgressUpdate) => Promise<void>;
  /** A publish failed: no more are made, and `flush()` rejects with the error. */
  readonly onError: (error: unknown) => void;
}

export class ProgressThrottle {
  private pending: ProgressUpdate | null = null;
  private last: ProgressUpdate | null = null;
  private lastPublishedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private publishing: Promise<void> = Promise.resolve();
  private failure: { readonly error: unknown } | null = null;
  private closed = false;

  constructor(private readonly options: ProgressThrottleOptions) {}

  private latest: ProgressUpdate | null = null;

  /** The latest stage, step and preview offered (published or not); null before any. */
  get current(): ProgressUpdate | null {
    return this.latest;
  }

  offer(offered: ProgressUpdate): void {
    if (this.closed || this.failure !== null) return;
    const previewUrl = offered.previewUrl ?? this.latest?.previewUrl;
    const update: ProgressUpdate = {
      stage: offered.stage,
      step: offered.step,
      ...(previewUrl === undefined ? {} : { previewUrl }),
    };
    this.latest = update;
    if (
      this.last !== null &&
      this.last.stage === update.stage &&
      this.last.step === update.step &&
      this.last.previewUrl === update.previewUrl
    ) {
      this.pending = null;
      return;
    }
    this.pending = update;
    if (this.timer !== null) return;
    const wait = this.lastPublishedAt + this.options.intervalMs - Date.now();
    if (wait <= 0) {
      this.publishPending();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.publishPending();
    }, wait);
  }

  /** Attaches a new preview to the current progress (ignored before any progress). */
  offerPreview(previewUrl: string): void {
    if (this.latest === null) return;
    this.offer({ ...this.latest, previewUrl });
  }

  /** Publishes what is pending now, and resolves once every publish has finished. */
  async flush(): Promise<void> {
    this.cancelTimer();
    this.publishPending();
    await this.publishing;
    if (this.failure !== null) throw this.failure.error;
  }

  /** Drops what is pending and publishes nothing more. */
  close(): void {
    this.closed = true;
    this.pending = null;
    this.cancelTimer();
  }

  private publishPending(): void {
    const update = this.pending;
    if (update === null || this.failure !== null) return;
    this.pending = null;
    this.last = update;
    this.lastPublishedAt = Date.now();
    this.publishing = this.publishing.then(async () => {
      if (this.failure !== null) return;
      try {
        await this.options.publish(update);
      } catch (error) {
        this.failure = { error };
        this.cancelTimer();
        this.options.onError(error);
      }
    });
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
