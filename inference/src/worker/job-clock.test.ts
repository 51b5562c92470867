import { describe, expect, it } from 'vitest';
import { JobClock } from './job-clock.ts';

/** A clock the test moves by hand (milliseconds). */
function manualTime(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

const averages = {
  setupSeconds: 1,
  stepSeconds: 2,
  decodeSeconds: 4,
  saveSeconds: 0.5,
  samples: 3,
};

describe('JobClock', () => {
  it("estimates from the averages, then from the job's own steps", () => {
    const time = manualTime();
    const clock = new JobClock(averages, 8, time.now);
    clock.mark('ENCODING_PROMPT', 0);
    expect(clock.remaining()).toBe(1 + 16 + 4.5);
    time.advance(1_000);
    clock.mark('DENOISING', 0);
    expect(clock.remaining()).toBe(16 + 4.5);
    // This job's steps take 3 s, not the average 2 s.
    for (let step = 1; step <= 4; step++) {
      time.advance(3_000);
      clock.mark('DENOISING', step);
    }
    expect(clock.remaining()).toBe(4 * 3 + 4.5);
    time.advance(1_000);
    expect(clock.remaining()).toBe(4 * 3 - 1 + 4.5);
  });

  it('measures each stage of a finished job, without setup when it loaded the model', () => {
    const time = manualTime();
    const clock = new JobClock(null, 2, time.now);
    expect(clock.remaining()).toBeNull();
    time.advance(500);
    clock.mark('ENCODING_PROMPT', 0);
    time.advance(500);
    clock.mark('DENOISING', 0);
    time.advance(2_000);
    clock.mark('DENOISING', 1);
    // No averages yet: a rough figure from its own steps.
    expect(clock.remaining()).toBe(2 + 2);
    time.advance(2_000);
    clock.mark('DENOISING', 2);
    clock.mark('DECODING', 2);
    time.advance(3_000);
    clock.mark('SAVING', 2);
    time.advance(250);
    expect(clock.measured()).toEqual({
      setupSeconds: 1,
      stepSeconds: 2,
      decodeSeconds: 3,
      saveSeconds: 0.25,
    });

    const loading = new JobClock(null, 1, time.now);
    loading.mark('LOADING_MODEL', 0);
    time.advance(10_000);
    loading.mark('DENOISING', 0);
    time.advance(1_000);
    loading.mark('DENOISING', 1);
    loading.mark('DECODING', 1);
    loading.mark('SAVING', 1);
    expect(loading.measured()?.setupSeconds).toBeNull();
    expect(new JobClock(null, 1, time.now).measured()).toBeNull();
  });
});
