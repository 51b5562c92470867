/**
 * Renders `ensureModelFiles` events for people: on a terminal as progress bars (cli-progress,
 * one per file being downloaded or checked, and a total); elsewhere (logs, CI) as plain lines,
 * with the overall progress every few seconds.
 */
import cliProgress from 'cli-progress';
import type { ModelFilesEvent } from './store/model-files.ts';

export interface ProgressRenderer {
  readonly onProgress: (event: ModelFilesEvent) => void;
  /** Draws the final state and releases the terminal. */
  stop(): void;
}

export interface ProgressRendererOptions {
  /** Without a terminal: how often the overall progress is printed (default 10 s). */
  readonly lineIntervalMs?: number;
}

/** "1.5 GiB", "320.0 KiB", "12 B". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} ${units[0] ?? 'B'}` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

export function createProgressRenderer(
  stream: NodeJS.WriteStream = process.stderr,
  options: ProgressRendererOptions = {},
): ProgressRenderer {
  return stream.isTTY
    ? barRenderer(stream)
    : lineRenderer(stream, options.lineIntervalMs ?? 10_000);
}

/** Bytes planned and received over all downloads, and the rate since the first one. */
class Totals {
  private readonly files = new Map<string, { total: number; done: number }>();
  private startedAt: number | undefined;
  private startBytes = 0;

  plan(files: readonly { readonly file: string; readonly bytes: number }[]): void {
    for (const { file, bytes } of files) this.files.set(file, { total: bytes, done: 0 });
  }

  progress(file: string, done: number): void {
    const entry = this.files.get(file);
    if (entry === undefined) return;
    if (this.startedAt === undefined) {
      this.startedAt = performance.now();
      this.startBytes = this.done - entry.done + done;
    }
    entry.done = done;
  }

  get total(): number {
    let sum = 0;
    for (const entry of this.files.values()) sum += entry.total;
    return sum;
  }

  get done(): number {
    let sum = 0;
    for (const entry of this.files.values()) sum += entry.done;
    return sum;
  }

  /** "12% 1.2 GiB/9.8 GiB 85.0 MiB/s". */
  describe(): string {
    const { total, done } = this;
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    return `${percent}% ${formatBytes(done)}/${formatBytes(total)} ${rateText(done - this.startBytes, this.startedAt)}`.trim();
  }
}

function rateText(bytes: number, since: number | undefined): string {
  if (since === undefined) return '';
  const seconds = (performance.now() - since) / 1000;
  return seconds < 0.5 ? '' : `${formatBytes(bytes / seconds)}/s`;
}

function readyText(event: Extract<ModelFilesEvent, { type: 'file-ready' }>): string {
  return `${event.file}: ${event.how} (${formatBytes(event.bytes)})`;
}

function lineRenderer(stream: NodeJS.WriteStream, intervalMs: number): ProgressRenderer {
  const totals = new Totals();
  const write = (line: string) => stream.write(`${line}\n`);
  let lastLine = performance.now();
  const checked = new Map<string, number>();
  const onProgress = (event: ModelFilesEvent): void => {
    const now = performance.now();
    switch (event.type) {
      case 'plan':
        totals.plan(event.files);
        write(
          `Downloading ${event.files.length} file${event.files.length === 1 ? '' : 's'} ` +
            `(${formatBytes(event.files.reduce((sum, file) => sum + file.bytes, 0))})`,
        );
        return;
      case 'download-start':
        totals.progress(event.file, event.resumeFrom);
        if (event.resumeFrom > 0)
          write(`Resuming ${event.file} at ${formatBytes(event.resumeFrom)}`);
        return;
      case 'download-progress':
        totals.progress(event.file, event.receivedBytes);
        if (now - lastLine >= intervalMs) {
          lastLine = now;
          write(`Downloaded ${totals.describe()}`);
        }
        return;
      case 'download-retry':
        write(`Retrying ${event.file} after attempt ${event.attempt} failed: ${event.error}`);
        return;
      case 'download-done':
        totals.progress(event.file, event.totalBytes);
        return;
      case 'verify-progress': {
        const last = checked.get(event.file);
        if (last === undefined || now - last >= intervalMs) {
          checked.set(event.file, now);
          write(
            `Checking ${event.file}: ${Math.floor((event.checkedBytes / Math.max(event.totalBytes, 1)) * 100)}%`,
          );
        }
        return;
      }
      case 'file-invalid':
        write(`${event.file} does not match the Hub (${event.problem}): downloading it again`);
        return;
      case 'file-ready':
        if (event.how !== 'recorded') write(readyText(event));
        return;
      case 'generate-start':
        write(`Generating the ${event.model} model files`);
        return;
      case 'waiting':
        write(`Waiting for another process to finish fetching (${event.lockPath})`);
        return;
      case 'generate-done':
        return;
    }
  };
  return { onProgress, stop: () => undefined };
}

interface BarState {
  readonly bar: cliProgress.SingleBar;
  readonly startedAt: number;
  readonly startValue: number;
}

function barRenderer(stream: NodeJS.WriteStream): ProgressRenderer {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: '{name} |{bar}| {percentage}% {done}/{size} {speed}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      autopadding: true,
      fps: 5,
      // A logged line is written where the first bar was; a bar redrawn only when its text
      // changes would stay hidden until then (and for good at stop()).
      forceRedraw: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const totals = new Totals();
  const bars = new Map<string, BarState>();
  let total: cliProgress.SingleBar | undefined;
  // cli-progress prints logged lines on its next redraw: with no bar on screen there may be
  // none, so lines are written directly then.
  const log = (line: string) => {
    if (bars.size > 0 || total !== undefined) multibar.log(`${line}\n`);
    else stream.write(`${line}\n`);
  };
  const payload = (name: string, value: number, size: number, state: BarState | undefined) => ({
    name,
    done: formatBytes(value),
    size: formatBytes(size),
    speed: state === undefined ? '' : rateText(value - state.startValue, state.startedAt),
  });
  const startBar = (key: string, name: string, value: number, size: number): BarState => {
    const bar = multibar.create(Math.max(size, 1), value, payload(name, value, size, undefined));
    const state = { bar, startedAt: performance.now(), startValue: value };
    bars.set(key, state);
    return state;
  };
  const endBar = (key: string) => {
    const state = bars.get(key);
    if (state === undefined) return;
    multibar.remove(state.bar);
    bars.delete(key);
  };
  const updateTotal = () => {
    if (total === undefined) return;
    total.setTotal(Math.max(totals.total, 1));
    total.update(totals.done, {
      name: 'total',
      done: formatBytes(totals.done),
      size: formatBytes(totals.total),
      speed: '',
    });
  };

  const onProgress = (event: ModelFilesEvent): void => {
    switch (event.type) {
      case 'plan':
        totals.plan(event.files);
        total ??= multibar.create(1, 0, { name: 'total', done: '', size: '', speed: '' });
        updateTotal();
        return;
      case 'download-start':
        totals.progress(event.file, event.resumeFrom);
        startBar(event.file, event.file, event.resumeFrom, event.totalBytes);
        if (event.resumeFrom > 0) log(`Resuming ${event.file} at ${formatBytes(event.resumeFrom)}`);
        updateTotal();
        return;
      case 'download-progress': {
        const state = bars.get(event.file);
        state?.bar.update(
          event.receivedBytes,
          payload(event.file, event.receivedBytes, event.totalBytes, state),
        );
        totals.progress(event.file, event.receivedBytes);
        updateTotal();
        return;
      }
      case 'download-retry':
        log(`Retrying ${event.file} after attempt ${event.attempt} failed: ${event.error}`);
        return;
      case 'download-done':
        endBar(event.file);
        totals.progress(event.file, event.totalBytes);
        updateTotal();
        return;
      case 'verify-progress': {
        const key = `verify:${event.file}`;
        const name = `checking ${event.file}`;
        const state = bars.get(key) ?? startBar(key, name, 0, event.totalBytes);
        state.bar.update(
          event.checkedBytes,
          payload(name, event.checkedBytes, event.totalBytes, state),
        );
        if (event.checkedBytes >= event.totalBytes) endBar(key);
        return;
      }
      case 'file-invalid':
        log(`${event.file} does not match the Hub (${event.problem}): downloading it again`);
        return;
      case 'file-ready':
        if (event.how !== 'recorded') log(readyText(event));
        return;
      case 'generate-start':
        log(`Generating the ${event.model} model files`);
        return;
      case 'waiting':
        log(`Waiting for another process to finish fetching (${event.lockPath})`);
        return;
      case 'generate-done':
        return;
    }
  };

  return {
    onProgress,
    stop: () => {
      for (const key of [...bars.keys()]) endBar(key);
      // cli-progress writes logged lines at its next redraw, and stop() draws the bars without
      // them: the last ones ("b.bin: downloaded (3.0 MiB)") would be lost.
      if (total !== undefined) multibar.update();
      multibar.stop();
    },
  };
}
