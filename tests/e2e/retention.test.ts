/**
 * Retention against the real stack: with ZEUS_RETENTION set, the API says when each finished job
 * expires, and once it has, the worker's sweeper removes its video and its record; the history
 * pages on without it.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../deploy/local-stack.ts';
import { startTinyStack } from '../helpers/tiny-stack.ts';
import { eventually } from '../helpers/eventually.ts';
import { followJob } from '../helpers/follow-job.ts';
import { holdWorker } from '../helpers/hold-worker.ts';
import { graphqlRequest, SUBMIT, type JobResult } from '../helpers/graphql.ts';

const RETENTION_SECONDS = 4;
let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  ({ stack, dir } = await startTinyStack('retention', {
    ZEUS_RETENTION: `${RETENTION_SECONDS}s`,
  }));
}, 180_000);

afterAll(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

async function submit(prompt: string): Promise<JobResult> {
  const answer = await graphqlRequest<{ submitPrompt: JobResult }>(stack.graphqlUrl, SUBMIT, {
    input: { prompt, width: 128, height: 128, numFrames: 9, frameRate: 8 },
  });
  const job = answer.data?.submitPrompt;
  if (job == null) throw new Error(JSON.stringify(answer.errors));
  return job;
}

async function finish(job: JobResult): Promise<void> {
  const followed = followJob(stack.webSocketUrl, job.id);
  await followed.done;
  await followed.dispose();
}

async function submitAndFinish(prompt: string): Promise<JobResult> {
  const job = await submit(prompt);
  await finish(job);
  return job;
}

interface Listed {
  readonly jobs: {
    readonly edges: { readonly node: { readonly id: string } }[];
    readonly pageInfo: { readonly endCursor: string | null };
    readonly totalCount: number;
  };
}

async function page(first: number, after: string | null = null): Promise<Listed['jobs']> {
  const answer = await graphqlRequest<Listed>(
    stack.graphqlUrl,
    'query ($first: Int, $after: String) { jobs(first: $first, after: $after) { edges { node { id } } pageInfo { endCursor } totalCount } }',
    { first, after },
  );
  if (answer.data == null) throw new Error(JSON.stringify(answer.errors));
  return answer.data.jobs;
}

describe('retention', () => {
  it('says when a job expires, then removes its video and record, and pages on without it', async () => {
    const system = await graphqlRequest<{ system: { retentionSeconds: number | null } }>(
      stack.graphqlUrl,
      '{ system { retentionSeconds } }',
    );
    expect(system.data?.system.retentionSeconds).toBe(RETENTION_SECONDS);

    // The older job's 4 s start when it finishes: the newer one is queued behind a held worker
    // meanwhile, so that what is checked while both are there takes a few requests, not a job.
    const older = await submitAndFinish('kept for a few seconds');
    const release = await holdWorker(stack);
    let newer: JobResult;
    let job: { status: string; finishedAt: string; expiresAt: string; videoUrl: string };
    let first: Listed['jobs'];
    try {
      newer = await submit('kept a little longer');
      const shown = await graphqlRequest<{ job: typeof job }>(
        stack.graphqlUrl,
        `{ job(id: "${older.id}") { status finishedAt expiresAt videoUrl } }`,
      );
      if (shown.data?.job == null) throw new Error(JSON.stringify(shown.errors));
      job = shown.data.job;
      expect(job.status).toBe('SUCCEEDED');
      expect(Date.parse(job.expiresAt) - Date.parse(job.finishedAt)).toBe(
        RETENTION_SECONDS * 1_000,
      );
      expect((await fetch(`${stack.url}${job.videoUrl}`)).status).toBe(200);
      // A cursor taken while both are listed.
      first = await page(1);
      expect(first.edges.map((edge) => edge.node.id)).toEqual([newer.id]);
    } finally {
      release();
    }
    const totalBefore = first.totalCount;
    await finish(newer);

    // The sweeper looks every second: the job is gone soon after it expires.
    await eventually(async () => {
      const found = await graphqlRequest(stack.graphqlUrl, `{ job(id: "${older.id}") { id } }`);
      if (found.errors?.[0]?.extensions?.['code'] !== 'NOT_FOUND') throw new Error('still there');
    }, 20_000);
    expect(existsSync(join(dir, 'generated', older.id))).toBe(false);
    expect((await fetch(`${stack.url}${job.videoUrl}`)).status).toBe(404);

    const rest = await page(10, first.pageInfo.endCursor);
    expect(rest.edges.map((edge) => edge.node.id)).not.toContain(older.id);
    const all = await page(100);
    expect(all.edges.map((edge) => edge.node.id)).not.toContain(older.id);
    expect(all.totalCount).toBeLessThan(totalBefore);
  }, 60_000);
});
