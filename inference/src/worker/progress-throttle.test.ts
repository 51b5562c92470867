import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressThrottle, type ProgressUpdate } from './progress-throttle.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function recorder(): {
  published: string[];
  throttle: ProgressThrottle;
  errors: unknown[];
} {
  const published: string[] = [];
  const errors: unknown[] = [];
  const throttle = new ProgressThrottle({
    intervalMs: 250,
    publish: (update: ProgressUpdate) => {
      published.push(`${update.stage}:${update.step}@${Date.now()}`);
      return Promise.resolve();
    },
    onError: (error) => errors.push(error),
  });
  return { published, throttle, errors };
}

const step = (n: number): ProgressUpdate => ({ stage: 'DENOISING', step: n });

describe('ProgressThrottle', () => {
  it('publishes the first update at once', async () => {
    const { published, throttle } = recorder();
    throttle.offer(step(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toEqual(['DENOISING:1@0']);
  });

  it('publishes every step when steps are slower than the interval', async () => {
    const { published, throttle } = recorder();
    for (let n = 1; n <= 4; n += 1) {
      throttle.offer(step(n));
      await vi.advanceTimersByTimeAsync(400);
    }
    expect(published).toEqual([
      'DENOISING:1@0',
      'DENOISING:2@400',
      'DENOISING:3@800',
      'DENOISING:4@1200',
    ]);
  });

  it('coalesces fast steps into the latest one, once per interval', async () => {
    const { published, throttle } = recorder();
    throttle.offer(step(1));
    throttle.offer(step(2));
    throttle.offer(step(3));
    await vi.advanceTimersByTimeAsync(249);
    expect(published).toEqual(['DENOISING:1@0']);
    await vi.advanceTimersByTimeAsync(1);
    expect(published).toEqual(['DENOISING:1@0', 'DENOISING:3@250']);
  });

  it('never publishes more than once per interval', async () => {
    const { published, throttle } = recorder();
    for (let n = 1; n <= 100; n += 1) {
      throttle.offer(step(n));
      await vi.advanceTimersByTimeAsync(10);
    }
    await throttle.flush();
    // 1000 ms of updates: at most one per 250 ms, plus the flush at the end.
    expect(published.length).toBeLessThanOrEqual(6);
    const times = published.map((entry) => Number(entry.split('@')[1]));
    for (let i = 2; i < times.length - 1; i += 1) {
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(250);
    }
    expect(published.at(-1)).toMatch(/^DENOISING:100@/);
  });

  it('flushes what is pending at once, and skips repeats', async () => {
    const { published, throttle } = recorder();
    throttle.offer(step(1));
    throttle.offer(step(2));
    await throttle.flush();
    expect(published).toEqual(['DENOISING:1@0', 'DENOISING:2@0']);
    throttle.offer(step(2));
    await vi.advanceTimersByTimeAsync(1_000);
    await throttle.flush();
    expect(published).toHaveLength(2);
  });

  it('publishes one at a time, in order', async () => {
    const order: string[] = [];
    let release!: () => void;
    const firstBlocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const throttle = new ProgressThrottle({
      intervalMs: 0,
      publish: async (update) => {
        order.push(`start ${update.step}`);
        if (update.step === 1) await firstBlocked;
        order.push(`end ${update.step}`);
      },
      onError: () => {},
    });
    throttle.offer(step(1));
    throttle.offer(step(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['start 1']);
    release();
    await throttle.flush();
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('stops after a failed publish and reports it', async () => {
    const failure = new Error('the job was taken over');
    const errors: unknown[] = [];
    let calls = 0;
    const throttle = new ProgressThrottle({
      intervalMs: 0,
      publish: () => {
        calls += 1;
        return Promise.reject(failure);
      },
      onError: (error) => errors.push(error),
    });
    throttle.offer(step(1));
    await vi.advanceTimersByTimeAsync(0);
    throttle.offer(step(2));
    await expect(throttle.flush()).rejects.toBe(failure);
    expect(errors).toEqual([failure]);
    expect(calls).toBe(1);
  });

  it('drops pending updates when closed', async () => {
    const { published, throttle } = recorder();
    throttle.offer(step(1));
    throttle.offer(step(2));
    throttle.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toEqual(['DENOISING:1@0']);
  });
});

describe('ProgressThrottle with previews', () => {
  function withPreviews(): { published: string[]; throttle: ProgressThrottle } {
    const published: string[] = [];
    const throttle = new ProgressThrottle({
      intervalMs: 250,
      publish: (update: ProgressUpdate) => {
        published.push(`${update.stage}:${update.step}:${update.previewUrl ?? '-'}@${Date.now()}`);
        return Promise.resolve();
      },
      onError: () => undefined,
    });
    return { published, throttle };
  }

  it('publishes a preview with the step it follows, and keeps it on later updates', async () => {
    const { published, throttle } = withPreviews();
    throttle.offerPreview('/p-0.jpg'); // before any progress: nothing to attach it to
    throttle.offer(step(1));
    await vi.advanceTimersByTimeAsync(0);
    throttle.offerPreview('/p-1.jpg');
    await vi.advanceTimersByTimeAsync(250);
    throttle.offer(step(2));
    await vi.advanceTimersByTimeAsync(250);
    expect(published).toEqual([
      'DENOISING:1:-@0',
      'DENOISING:1:/p-1.jpg@250',
      'DENOISING:2:/p-1.jpg@500',
    ]);
  });

  it('coalesces previews of fast steps with the progress, never going back a step', async () => {
    const { published, throttle } = withPreviews();
    throttle.offer(step(1));
    await vi.advanceTimersByTimeAsync(0);
    throttle.offer(step(2));
    throttle.offerPreview('/p-1.jpg');
    throttle.offer(step(3));
    throttle.offerPreview('/p-2.jpg');
    await vi.advanceTimersByTimeAsync(250);
    expect(published).toEqual(['DENOISING:1:-@0', 'DENOISING:3:/p-2.jpg@250']);
    throttle.offerPreview('/p-2.jpg');
    await throttle.flush();
    expect(published).toHaveLength(2);
  });
});
