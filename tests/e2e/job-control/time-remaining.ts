/**
 * Time remaining: a running job estimated from its own steps and earlier jobs' stages, and when a
 * queued one starts. On the stack of tests/e2e/job-control.test.ts (harness.ts).
 */
import { jobSeconds, latentTokens, modelRules, timingsFor } from '@zeus/core';
import { expect, it } from 'vitest';
import { holdWorker } from '../../helpers/hold-worker.ts';
import { deferred } from '../../helpers/deferred.ts';
import { eventually } from '../../helpers/eventually.ts';
import {
  SMALL,
  stack,
  timings,
  type Job,
  submit,
  jobOf,
  type Followed,
  follow,
  ms,
  type Timed,
  timed,
} from './harness.ts';

/** The tests of `describe('time remaining')`. */
export function timeRemaining(): void {
  // Nothing here is compared with how long the jobs really took, which a busy machine stretches
  // at will: the estimates are checked against the stage times the worker measured and recorded
  // for the job before (read from Redis) and this job's own steps as its updates report them.
  // How close the estimates come to the real times is a benchmark's figure (npm run bench --
  // --only jobs, docs/BENCHMARKS.md).
  it("estimates a running job from its own steps and earlier jobs' stages, and when a queued one starts", async () => {
    // The first job of this size teaches the installation and its worker how long each stage
    // takes: recorded just after it succeeds, before the worker takes another job.
    const warmUp = await submit('alice', { prompt: 'warm-up', seed: 1 });
    await follow('alice', warmUp.id).done;
    const tokens = latentTokens(modelRules('tiny-random'), SMALL);
    const learned = await eventually(async () => {
      const own = await timings.forWorker('tiny-random', tokens, 'local-worker-1');
      if (own === null) throw new Error('no stage times recorded yet');
      return own;
    }, 10_000);
    const installation = timingsFor(await timings.table('tiny-random'), tokens);
    if (installation === null) throw new Error('no stage times for the installation');

    // Two jobs queued while the worker is held: the second waits for the whole first one.
    const release = await holdWorker(stack);
    let measured: Job;
    let behind: Job;
    let queued: Timed<Job>;
    let followed: Followed;
    let behindAtMid: Promise<Timed<Job>> | null = null;
    try {
      measured = await submit('alice', { prompt: 'measured', seed: 2 });
      behind = await submit('alice', { prompt: 'behind it', seed: 3 });
      queued = await timed(() => jobOf('alice', behind.id));
      const subscribed = deferred();
      followed = follow('alice', measured.id, (job) => {
        subscribed.resolve(undefined);
        if (behindAtMid === null && job.stage === 'DENOISING' && job.step === job.totalSteps / 2) {
          behindAtMid = timed(() => jobOf('alice', behind.id));
        }
      });
      // Followed from its first state on, before the worker may take it.
      await Promise.race([subscribed.promise, followed.done]);
    } finally {
      release();
    }

    // Queued behind a whole job: it starts once that one's expected duration has passed (the
    // installation's averages, from a reading of the queue at most a second old) and lasts
    // as long itself.
    const jobMs = jobSeconds(installation, measured.totalSteps) * 1_000;
    expect(queued.value).toMatchObject({ status: 'QUEUED', queuePosition: 2 });
    const startsAt = ms(queued.value.estimatedStartAt);
    expect(startsAt).toBeGreaterThan(queued.askedAt + jobMs - 1_000);
    expect(startsAt).toBeLessThanOrEqual(queued.answeredAt + jobMs);
    // Both instants come from one reading of the queue, each counted from its own moment of
    // the request (ISO times round each to the millisecond).
    expect(Math.abs(ms(queued.value.estimatedFinishAt) - startsAt - jobMs)).toBeLessThanOrEqual(
      queued.answeredAt - queued.askedAt + 2,
    );

    const final = await followed.done;
    expect(final.status).toBe('SUCCEEDED');
    // A finished job has no estimate.
    expect(final.etaSeconds).toBeNull();
    expect(final.estimatedFinishAt).toBeNull();

    // At its middle, the time left is the steps left at this job's own pace so far, then the
    // decoding and saving the worker measured for the warm-up. Its pace is measured here from
    // its updates (the worker's clock, written as each step ended); the worker takes off what
    // of the next step is already done when it writes an update, at most one step.
    const denoising = followed.events
      .map(({ job }) => job)
      .filter((job) => job.stage === 'DENOISING');
    const half = measured.totalSteps / 2;
    const first = denoising.find((job) => job.step === 0);
    const mid = denoising.find((job) => job.step === half);
    if (first === undefined || mid === undefined) {
      throw new Error(`no update at the first or middle step: ${JSON.stringify(denoising)}`);
    }
    const ownStepMs = (ms(mid.updatedAt) - ms(first.updatedAt)) / half;
    const afterDenoisingMs = (learned.decodeSeconds + learned.saveSeconds) * 1_000;
    const expectedLeft = (measured.totalSteps - half) * ownStepMs + afterDenoisingMs;
    const predictedLeft = ms(mid.estimatedFinishAt) - ms(mid.updatedAt);
    expect(predictedLeft).toBeLessThanOrEqual(expectedLeft + ownStepMs);
    expect(predictedLeft).toBeGreaterThanOrEqual(expectedLeft - ownStepMs);

    // The job behind it, asked about at that moment, was expected to start when this one was
    // expected to finish, as of one of its updates (the reading of the queue it came from is
    // at most a second old), counted from the moment of the request.
    const atMid = await (behindAtMid as Promise<Timed<Job>> | null);
    if (atMid === null) throw new Error('the job behind was not read at mid-job');
    expect(atMid.value.status).toBe('QUEUED');
    const expectedFinishes = followed.events
      .filter(({ job }) => job.status === 'RUNNING' && job.estimatedFinishAt !== null)
      .map(({ job }) => ms(job.estimatedFinishAt));
    expect(atMid.value.estimatedStartAt).not.toBeNull();
    const startError = Math.min(
      ...expectedFinishes.map((time) => Math.abs(ms(atMid.value.estimatedStartAt) - time)),
    );
    expect(startError).toBeLessThanOrEqual(atMid.answeredAt - atMid.askedAt + 2);
    // And it did start once this one was over.
    const behindDone = await follow('alice', behind.id).done;
    expect(behindDone.status).toBe('SUCCEEDED');
    expect(ms(behindDone.startedAt)).toBeGreaterThanOrEqual(ms(final.finishedAt));
  }, 60_000);
}
