/**
 * Writes a job's live previews next to its video: `generated/<id>/preview-<step>.jpg` (in the
 * output store: the local folder or the bucket), served like the video, each a JPEG of at most 512 px on its long side (a few KB to a few tens
 * of KB). The job's record carries the latest one's URL (ProgressThrottle.offerPreview), so the
 * subscription sends a path, not pixels: updates stay small for every subscriber and the job
 * history, and browsers fetch and cache the picture from Caddy.
 *
 * Rate: previews are written no more often than progress is published (`intervalMs`); while one
 * is being encoded the next waits, and a newer one replaces a waiting one. Each file is stored
 * atomically (the store writes a hidden temporary file and renames it, or PUTs the object), so a
 * half-written preview is never served. A failure to write previews is reported once and ends the job's previews,
 * never the job.
 */
import { encodeJpeg, previewUrlFor, type OutputStore } from '@zeus/core';
import { previewSize, type LatentPreview } from '../ltx/preview.ts';

export interface PreviewWriterOptions {
  readonly jobId: string;
  /** Where the job's outputs go. */
  readonly outputs: Pick<OutputStore, 'putBytes'>;
  /** The video's size: previews keep its aspect. */
  readonly video: { readonly width: number; readonly height: number };
  /** Least time between two previews. */
  readonly intervalMs: number;
  /** A preview is in place at this URL. */
  readonly onWritten: (url: string, preview: LatentPreview) => void;
  /** Previews stop after this. */
  readonly onError: (error: unknown) => void;
  /** JPEG quality (default 75). */
  readonly quality?: number;
}

export class PreviewWriter {
  private pending: LatentPreview | null = null;
  private writing: Promise<void> | null = null;
  private lastStartedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Bytes of the JPEGs written (for tests and logs). */
  readonly sizes: number[] = [];

  constructor(private readonly options: PreviewWriterOptions) {}

  /** Takes the newest preview; it is written now, or when the interval allows. */
  offer(preview: LatentPreview): void {
    if (this.stopped) return;
    this.pending = preview;
    this.schedule();
  }

  /** Writes what is waiting now and resolves once nothing is being written. */
  async flush(): Promise<void> {
    this.cancelTimer();
    while (!this.stopped && (this.writing !== null || this.pending !== null)) {
      if (this.writing === null) this.start();
      await this.writing;
    }
  }

  /**
   * Drops what is waiting and writes nothing more. Resolves once a write under way has ended,
   * so a job's files removed after it (a cancel) stay removed.
   */
  close(): Promise<void> {
    this.stopped = true;
    this.pending = null;
    this.cancelTimer();
    return this.writing ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.writing !== null || this.timer !== null || this.pending === null) return;
    const wait = this.lastStartedAt + this.options.intervalMs - Date.now();
    if (wait <= 0) {
      this.start();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.schedule();
    }, wait);
  }

  private start(): void {
    const preview = this.pending;
    if (preview === null || this.stopped) return;
    this.pending = null;
    this.lastStartedAt = Date.now();
    this.writing = this.write(preview)
      .catch((error: unknown) => {
        void this.close();
        this.options.onError(error);
      })
      .finally(() => {
        this.writing = null;
        this.schedule();
      });
  }

  private async write(preview: LatentPreview): Promise<void> {
    const jpeg = await encodeJpeg(
      { data: preview.rgb, width: preview.width, height: preview.height },
      { resize: previewSize(this.options.video), quality: this.options.quality ?? 75 },
    );
    await this.options.outputs.putBytes(
      this.options.jobId,
      `preview-${preview.step}.jpg`,
      jpeg,
      'image/jpeg',
    );
    this.sizes.push(jpeg.length);
    if (!this.stopped) {
      this.options.onWritten(previewUrlFor(this.options.jobId, preview.step), preview);
    }
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
