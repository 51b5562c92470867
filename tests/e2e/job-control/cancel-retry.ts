/**
 * Cancel and retry: a queued job taken out of the queue, a running one stopped, a finished one
 * refused; the cancelled job retried, linked to it. On the stack of tests/e2e/job-control.test.ts
 * (harness.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { holdWorker } from '../../helpers/hold-worker.ts';
import { deferred } from '../../helpers/deferred.ts';
import { eventually } from '../../helpers/eventually.ts';
import {
  stack,
  dir,
  JOB,
  type Job,
  type Answer,
  call,
  dataOf,
  errorOf,
  submit,
  cancel,
  jobOf,
  type Followed,
  follow,
  ms,
} from './harness.ts';

/** The tests of `describe('cancel and retry')`. */
export function cancelAndRetry(): void {
  it('takes a queued job out of the queue, stops a running one, and goes on', async () => {
    const running = await submit('erin', { prompt: 'to be stopped', seed: 11 });
    // Once it runs, the worker is held (SIGSTOP) while the two behind it are queued and the
    // first of them cancelled: their places hold still (the worker could otherwise finish it
    // meanwhile and take the next, on a machine slow to answer the test). Released, the running
    // job is cancelled at its first denoising step from 2.
    let cancelArmed = false;
    let stepAtCancel = -1;
    let held: Promise<() => void> | null = null;
    const cancelling = deferred<Answer<{ cancelJob: Job }>>();
    const isRunning = deferred();
    const runningFollowed = follow('erin', running.id, (job) => {
      if (job.status === 'RUNNING') {
        held ??= holdWorker(stack);
        isRunning.resolve(undefined);
      }
      if (cancelArmed && stepAtCancel < 0 && job.stage === 'DENOISING' && job.step >= 2) {
        stepAtCancel = job.step;
        void cancel('erin', running.id).then(
          (answer) => {
            cancelling.resolve(answer);
          },
          (error: unknown) => {
            cancelling.reject(error as Error);
          },
        );
      }
    });
    await Promise.race([isRunning.promise, runningFollowed.done]);
    const release = (await (held as Promise<() => void> | null)) ?? (() => undefined);
    let queued: Job;
    let next: Job;
    let nextFollowed: Followed;
    try {
      queued = await submit('erin', { prompt: 'never to run', seed: 12 });
      next = await submit('erin', { prompt: 'runs next', seed: 13 });
      expect(next.queuePosition).toBe((queued.queuePosition ?? 0) + 1);

      // Another key may not cancel it.
      expect(errorOf(await cancel('bob', queued.id))).toMatchObject({ code: 'FORBIDDEN' });

      nextFollowed = follow('erin', next.id);
      const queuedCancelled = dataOf(await cancel('erin', queued.id)).cancelJob;
      expect(queuedCancelled).toMatchObject({
        status: 'CANCELLED',
        stage: 'DONE',
        queuePosition: null,
      });
      // The job behind it moved up.
      await eventually(async () => {
        if ((await jobOf('erin', next.id)).queuePosition !== 1) throw new Error('not moved');
      }, 10_000);
      cancelArmed = true;
    } finally {
      release();
    }

    const answer = await Promise.race([
      cancelling.promise,
      // Fails at once, rather than at the test's timeout, should the job end uncancelled.
      runningFollowed.done.then(async (job) => {
        if (job.status !== 'CANCELLED') throw new Error(`ended ${job.status}, not cancelled`);
        return cancelling.promise;
      }),
    ]);
    const atCancel = dataOf(answer).cancelJob;
    expect(atCancel.status).toBe('CANCELLED');
    // The step it was cancelled at, or a later one the worker reported while the cancel was
    // on its way; after the cancel, none.
    expect(atCancel.step).toBeGreaterThanOrEqual(stepAtCancel);
    const stopped = await runningFollowed.done;
    expect(stopped).toMatchObject({ status: 'CANCELLED', stage: 'DONE', videoUrl: null });
    expect(stopped.step).toBe(atCancel.step);
    expect(
      runningFollowed.events.filter(({ job }) => job.status === 'RUNNING').at(-1)?.job.step ?? 0,
    ).toBeLessThanOrEqual(atCancel.step);

    // The worker goes on: the next job runs once the first was stopped. (That the model thread
    // stops between steps, even in a paced wait, is ThreadedPipeline's test; how soon the next
    // job starts is a benchmark's figure: npm run bench -- --only jobs.)
    const nextDone = await nextFollowed.done;
    expect(nextDone.status).toBe('SUCCEEDED');
    expect(ms(nextDone.startedAt)).toBeGreaterThanOrEqual(ms(stopped.finishedAt));

    // Files removed; the queued one never ran.
    expect(existsSync(join(dir, 'generated', running.id))).toBe(false);
    expect(existsSync(join(dir, 'generated', queued.id))).toBe(false);
    expect(await jobOf('erin', queued.id)).toMatchObject({ attempts: 0, startedAt: null });

    // A finished job cannot be cancelled.
    expect(errorOf(await cancel('erin', next.id))).toMatchObject({
      code: 'JOB_ALREADY_FINISHED',
      status: 'SUCCEEDED',
    });

    // Retry: the cancelled job again, same settings and seed, linked to it.
    const retried = dataOf(
      await call<{ retryJob: Job }>(
        'erin',
        `mutation ($id: ID!) { retryJob(id: $id) { ${JOB} } }`,
        {
          id: running.id,
        },
      ),
    ).retryJob;
    expect(retried).toMatchObject({
      status: 'QUEUED',
      retryOf: running.id,
      settings: { prompt: 'to be stopped', seed: 11, width: 256 },
    });
    expect(retried.id).not.toBe(running.id);
    expect((await follow('erin', retried.id).done).status).toBe('SUCCEEDED');
    expect(
      errorOf(
        await call('erin', `mutation ($id: ID!) { retryJob(id: $id) { id } }`, { id: next.id }),
      ),
    ).toMatchObject({ code: 'JOB_NOT_RETRYABLE', status: 'SUCCEEDED' });
  }, 60_000);
}
