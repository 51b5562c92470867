import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeTerminal } from '../../tests/helpers/fake-terminal.ts';
import { createProgressRenderer, formatBytes } from '../src/progress-bar.ts';

const MiB = 1024 * 1024;

/** A log file or pipe: keeps every line written. */
class FakeLog extends Writable {
  readonly isTTY = false;
  text = '';

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  lines(): string[] {
    return this.text.split('\n').slice(0, -1);
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('formatBytes', () => {
  it('counts in powers of 1024 with one decimal past bytes', () => {
    expect([12, 320 * 1024, 1.5 * 1024 * MiB].map(formatBytes)).toEqual([
      '12 B',
      '320.0 KiB',
      '1.5 GiB',
    ]);
  });
});

describe('createProgressRenderer without a terminal', () => {
  it('writes the overall progress at the interval, each file when ready, and every problem', () => {
    const log = new FakeLog();
    const renderer = createProgressRenderer(log as unknown as NodeJS.WriteStream, {
      lineIntervalMs: 5_000,
    });
    const { onProgress } = renderer;
    onProgress({
      type: 'plan',
      files: [
        { file: 'a.bin', bytes: MiB },
        { file: 'b.bin', bytes: 3 * MiB },
      ],
    });
    onProgress({ type: 'download-start', file: 'a.bin', totalBytes: MiB, resumeFrom: 0 });
    vi.advanceTimersByTime(1_000);
    onProgress({
      type: 'download-progress',
      file: 'a.bin',
      receivedBytes: MiB / 4,
      totalBytes: MiB,
    });
    vi.advanceTimersByTime(4_000);
    // 5 s after the first: a line, with 1 MiB over those 5 s.
    onProgress({ type: 'download-progress', file: 'a.bin', receivedBytes: MiB, totalBytes: MiB });
    onProgress({ type: 'download-done', file: 'a.bin', totalBytes: MiB });
    onProgress({ type: 'file-ready', file: 'a.bin', bytes: MiB, how: 'downloaded' });
    onProgress({ type: 'download-start', file: 'b.bin', totalBytes: 3 * MiB, resumeFrom: MiB });
    onProgress({ type: 'download-retry', file: 'b.bin', attempt: 1, error: 'socket hang up' });
    vi.advanceTimersByTime(1_000);
    onProgress({
      type: 'download-progress',
      file: 'b.bin',
      receivedBytes: 2 * MiB,
      totalBytes: 3 * MiB,
    });
    vi.advanceTimersByTime(4_000);
    onProgress({
      type: 'download-progress',
      file: 'b.bin',
      receivedBytes: 3 * MiB,
      totalBytes: 3 * MiB,
    });
    onProgress({ type: 'download-done', file: 'b.bin', totalBytes: 3 * MiB });
    onProgress({ type: 'file-ready', file: 'b.bin', bytes: 3 * MiB, how: 'downloaded' });
    onProgress({ type: 'file-invalid', file: 'c.bin', problem: 'sha256 differs' });
    onProgress({ type: 'verify-progress', file: 'd.bin', checkedBytes: 0, totalBytes: 4 * MiB });
    onProgress({ type: 'verify-progress', file: 'd.bin', checkedBytes: MiB, totalBytes: 4 * MiB });
    vi.advanceTimersByTime(5_000);
    onProgress({
      type: 'verify-progress',
      file: 'd.bin',
      checkedBytes: 3 * MiB,
      totalBytes: 4 * MiB,
    });
    onProgress({ type: 'file-ready', file: 'd.bin', bytes: 4 * MiB, how: 'verified' });
    onProgress({ type: 'file-ready', file: 'e.bin', bytes: 10, how: 'recorded' });
    onProgress({ type: 'waiting', lockPath: '/models/.lock' });
    onProgress({ type: 'generate-start', model: 'tiny-random' });
    onProgress({ type: 'generate-done', model: 'tiny-random' });
    renderer.stop();
    expect(log.lines()).toEqual([
      'Downloading 2 files (4.0 MiB)',
      'Downloaded 25% 1.0 MiB/4.0 MiB 204.8 KiB/s',
      'a.bin: downloaded (1.0 MiB)',
      'Resuming b.bin at 1.0 MiB',
      'Retrying b.bin after attempt 1 failed: socket hang up',
      'Downloaded 100% 4.0 MiB/4.0 MiB 409.6 KiB/s',
      'b.bin: downloaded (3.0 MiB)',
      'c.bin does not match the Hub (sha256 differs): downloading it again',
      'Checking d.bin: 0%',
      'Checking d.bin: 75%',
      'd.bin: verified (4.0 MiB)',
      'Waiting for another process to finish fetching (/models/.lock)',
      'Generating the tiny-random model files',
    ]);
  });

  it('prints every 10 s by default', () => {
    const log = new FakeLog();
    const { onProgress } = createProgressRenderer(log as unknown as NodeJS.WriteStream);
    onProgress({ type: 'plan', files: [{ file: 'one.bin', bytes: 10 * MiB }] });
    onProgress({ type: 'download-start', file: 'one.bin', totalBytes: 10 * MiB, resumeFrom: 0 });
    vi.advanceTimersByTime(9_999);
    onProgress({
      type: 'download-progress',
      file: 'one.bin',
      receivedBytes: MiB,
      totalBytes: 10 * MiB,
    });
    vi.advanceTimersByTime(1);
    onProgress({
      type: 'download-progress',
      file: 'one.bin',
      receivedBytes: 2 * MiB,
      totalBytes: 10 * MiB,
    });
    expect(log.lines()).toEqual([
      'Downloading 1 file (10.0 MiB)',
      'Downloaded 20% 2.0 MiB/10.0 MiB 204.8 KiB/s',
    ]);
  });
});

describe('createProgressRenderer on a terminal', () => {
  it('draws a bar per download and a total, prints problems above them, and leaves the final state', () => {
    const terminal = new FakeTerminal();
    const renderer = createProgressRenderer(terminal as unknown as NodeJS.WriteStream);
    const { onProgress } = renderer;
    onProgress({
      type: 'plan',
      files: [
        { file: 'a.bin', bytes: MiB },
        { file: 'b.bin', bytes: 3 * MiB },
      ],
    });
    onProgress({ type: 'download-start', file: 'a.bin', totalBytes: MiB, resumeFrom: 0 });
    vi.advanceTimersByTime(2_000);
    onProgress({
      type: 'download-progress',
      file: 'a.bin',
      receivedBytes: MiB / 2,
      totalBytes: MiB,
    });
    onProgress({ type: 'download-retry', file: 'a.bin', attempt: 2, error: 'HTTP 503' });
    vi.advanceTimersByTime(200);
    expect(terminal.visible()).toEqual([
      'Retrying a.bin after attempt 2 failed: HTTP 503',
      `total |${'█'.repeat(5)}${'░'.repeat(35)}|  12% 512.0 KiB/4.0 MiB`,
      `a.bin |${'█'.repeat(20)}${'░'.repeat(20)}|  50% 512.0 KiB/1.0 MiB 256.0 KiB/s`,
    ]);

    onProgress({ type: 'download-progress', file: 'a.bin', receivedBytes: MiB, totalBytes: MiB });
    onProgress({ type: 'download-done', file: 'a.bin', totalBytes: MiB });
    onProgress({ type: 'file-ready', file: 'a.bin', bytes: MiB, how: 'downloaded' });
    onProgress({ type: 'download-start', file: 'b.bin', totalBytes: 3 * MiB, resumeFrom: 0 });
    onProgress({
      type: 'download-progress',
      file: 'b.bin',
      receivedBytes: 3 * MiB,
      totalBytes: 3 * MiB,
    });
    onProgress({ type: 'download-done', file: 'b.bin', totalBytes: 3 * MiB });
    onProgress({ type: 'file-ready', file: 'b.bin', bytes: 3 * MiB, how: 'downloaded' });
    renderer.stop();
    expect(terminal.visible()).toEqual([
      'Retrying a.bin after attempt 2 failed: HTTP 503',
      'a.bin: downloaded (1.0 MiB)',
      'b.bin: downloaded (3.0 MiB)',
      `total |${'█'.repeat(40)}| 100% 4.0 MiB/4.0 MiB`,
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
