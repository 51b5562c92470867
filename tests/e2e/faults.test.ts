/**
 * Fault injection against the real local stack (Redis with its append-only file, three API
 * servers behind Caddy, one worker on the tiny model, on the CPU): each part of Zeus fails in
 * turn while jobs are queued, running and followed, and nothing may be lost.
 *
 *   1. the worker is killed (SIGKILL) mid-job          6. generated/ becomes read-only
 *   2. Redis is stopped cleanly (SIGTERM)              7. generated/ fills up
 *   3. Redis is killed (SIGKILL)                       8. ffmpeg fails for one job (then retried)
 *   4. an API server holding subscribers is killed     9. the model fails for one job
 *   5. Caddy reloads its configuration
 *
 * Every job is followed through Caddy by a client that reconnects by itself, as the web app and
 * the CLI do. The end prints a summary (faults, jobs submitted, finished, lost, duplicate
 * completions) and asserts that nothing was lost and nothing completed twice. A completion is
 * counted at the source twice over: SUCCEEDED records published by Redis (a pattern
 * subscription of the test's own) and "job succeeded" lines in the worker's log, across all of
 * its lives.
 *
 * Faults 6 and 7 need a disk of their own: a small tmpfs, mounted when the test runs as root
 * with the right to mount; elsewhere they are skipped and the summary says why. Fault 8 points
 * FFMPEG_PATH at a wrapper that runs the real ffmpeg but, once, asks it for an encoder that does
 * not exist; the failed job is then retried (retryJob) and must succeed with the same settings
 * and seed. Fault 9 corrupts the converted text-encoder model on disk, which the worker opens
 * for each new prompt (ZEUS_TEXT_ENCODER=on-demand), then puts it back.
 *
 * One stack for the file (faults/harness.ts); faults 1 to 5 are faults/process-faults.ts, 6 to 9
 * faults/job-faults.ts, and the summary is here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchVia } from '../../deploy/endpoints.ts';
import { graphqlRequest, type JobResult } from '../helpers/graphql.ts';
import { jobFaults } from './faults/job-faults.ts';
import {
  type Tracked,
  stack,
  tracked,
  faults,
  publishedSuccesses,
  extraReconnections,
  partialFiles,
  useFaultStack,
} from './faults/harness.ts';
import { processFaults } from './faults/process-faults.ts';

useFaultStack();

describe('faults, with nothing lost', () => {
  processFaults();
  jobFaults();

  it('lost no job and completed none twice (summary)', async () => {
    const finals = await Promise.all(
      tracked.map(async (job) => {
        const response = await graphqlRequest<{ job: JobResult }>(
          stack.graphqlUrl,
          `{ job(id: "${job.id}") { status error { code } } }`,
        );
        return { job, stored: response.data?.job ?? null };
      }),
    );
    const settled = (job: Tracked, stored: JobResult | null): boolean =>
      stored !== null &&
      stored.status === job.expected.status &&
      (job.expected.code === undefined || stored.error?.code === job.expected.code);
    const lost = finals.filter(({ job, stored }) => !settled(job, stored));
    const missedFinal = tracked.filter(
      (job) => job.follower.last()?.status !== job.expected.status,
    );

    // Completions at the source: Redis's publications and the worker's log, all its lives.
    const log = await readFile(join(stack.logDir, 'worker-1.log'), 'utf8');
    const loggedSuccesses = new Map<string, number>();
    for (const line of log.split('\n')) {
      if (!line.includes('"job succeeded"')) continue;
      const { jobId } = JSON.parse(line) as { jobId: string };
      loggedSuccesses.set(jobId, (loggedSuccesses.get(jobId) ?? 0) + 1);
    }
    const duplicates = tracked.reduce(
      (sum, job) =>
        sum +
        Math.max(
          0,
          (publishedSuccesses.get(job.id) ?? 0) - 1,
          (loggedSuccesses.get(job.id) ?? 0) - 1,
        ),
      0,
    );
    const system = await graphqlRequest<{ system: { queueLength: number; running: number } }>(
      stack.graphqlUrl,
      '{ system { queueLength running } }',
    );
    const leftoverPartials = (await Promise.all(tracked.map((job) => partialFiles(job.id)))).flat();
    const summary = {
      faultsInjected: faults.filter((fault) => !fault.outcome.startsWith('skipped')).length,
      faultsSkipped: faults.filter((fault) => fault.outcome.startsWith('skipped')).length,
      jobsSubmitted: tracked.length,
      jobsFinished: finals.filter(
        ({ stored }) =>
          stored !== null && stored.status !== 'QUEUED' && stored.status !== 'RUNNING',
      ).length,
      jobsSucceeded: finals.filter(({ stored }) => stored?.status === 'SUCCEEDED').length,
      jobsFailedAsIntended: finals.filter(
        ({ job, stored }) => job.expected.status === 'FAILED' && settled(job, stored),
      ).length,
      jobsLost: lost.length,
      duplicateCompletions: duplicates,
      finalStatesMissedBySubscribers: missedFinal.length,
      subscriberReconnections:
        extraReconnections + tracked.reduce((sum, job) => sum + job.follower.drops.length, 0),
      partialFilesLeft: leftoverPartials.length,
    };
    console.log(
      [
        '',
        'Fault injection summary',
        ...faults.map((fault, index) => `  ${index + 1}. ${fault.name}: ${fault.outcome}`),
        ...Object.entries(summary).map(([name, value]) => `  ${name}: ${value}`),
        '',
      ].join('\n'),
    );
    expect(lost.map(({ job, stored }) => ({ id: job.id, fault: job.fault, stored }))).toEqual([]);
    expect(summary).toMatchObject({
      jobsLost: 0,
      duplicateCompletions: 0,
      finalStatesMissedBySubscribers: 0,
      partialFilesLeft: 0,
    });
    expect(summary.jobsFinished).toBe(summary.jobsSubmitted);
    expect(system.data?.system).toEqual({ queueLength: 0, running: 0 });
    // Every process is up and healthy again, the worker says so on its status port, and its
    // metrics counted the failures of faults 6 to 9 (it has run since fault 1's restart).
    const workerHealth = await fetchVia(stack.workerStatusAddresses['worker-1'] ?? '', '/healthz');
    expect(await workerHealth.json()).toMatchObject({ status: 'ok', problems: [] });
    const metrics = await (
      await fetchVia(stack.workerStatusAddresses['worker-1'] ?? '', '/metrics')
    ).text();
    for (const code of ['ENCODER_FAILED', 'MODEL_FAILED']) {
      expect(metrics).toMatch(
        new RegExp(`zeus_worker_job_failures_total\\{code="${code}"[^}]*\\} 1`),
      );
    }
  });
});
