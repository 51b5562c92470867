/**
 * The stack tests/e2e/job-control.test.ts starts once for all its tests: one worker on the tiny
 * model, each step paced to at least STEP_MS, API keys on (one key per test), webhooks to
 * loopback; with the requests and subscriptions its tests share.
 */
import { rm } from 'node:fs/promises';
import { closeRedis, connectRedis, JobTimingsStore, RedisKeys, type Redis } from '@zeus/core';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { type LocalStack } from '../../../deploy/local-stack.ts';
import { startTinyStack } from '../../helpers/tiny-stack.ts';

/** Each denoising step of the tiny model lasts this long. */
export const STEP_MS = 250;
export const SECRET = 'webhook-secret-for-the-e2e-test';
export const KEYS = {
  alice: 'alice-key-0123456789abcdef',
  bob: 'bob-key-0123456789abcdef',
  carol: 'carol-key-0123456789abcdef',
  dave: 'dave-key-0123456789abcdef',
  erin: 'erin-key-0123456789abcdef',
  frank: 'frank-key-0123456789abcdef',
  gina: 'gina-key-0123456789abcdef',
  hank: 'hank-key-0123456789abcdef',
} as const;
export type KeyName = keyof typeof KEYS;
export const SMALL = { width: 256, height: 256, numFrames: 17, frameRate: 12 };

export let stack: LocalStack;
export let dir: string;
export const clients: Client[] = [];
/** The test's own connection to the stack's Redis, to read the stage times workers record. */
export let redis: Redis;
export let timings: JobTimingsStore;

export const JOB = `id status stage step totalSteps queuePosition priority etaSeconds estimatedStartAt
  estimatedFinishAt retryOf batchId attempts videoUrl createdAt startedAt finishedAt updatedAt
  settings { prompt seed width height numFrames }`;

export interface Job {
  readonly id: string;
  readonly status: string;
  readonly stage: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly queuePosition: number | null;
  readonly priority: number;
  readonly etaSeconds: number | null;
  readonly estimatedStartAt: string | null;
  readonly estimatedFinishAt: string | null;
  readonly retryOf: string | null;
  readonly batchId: string | null;
  readonly attempts: number;
  readonly videoUrl: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  readonly settings: { prompt: string; seed: number; width: number };
}

export interface Answer<Data> {
  readonly data?: Data | null;
  readonly errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export async function call<Data>(
  key: KeyName,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Answer<Data>> {
  const response = await fetch(stack.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS[key]}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  return (await response.json()) as Answer<Data>;
}

/** The answer's data, failing the test with its errors when there is none. */
export function dataOf<Data>(answer: Answer<Data>): Data {
  if (answer.data == null) throw new Error(`no data: ${JSON.stringify(answer.errors)}`);
  return answer.data;
}

export const errorOf = (answer: Answer<unknown>): Record<string, unknown> | undefined => ({
  message: answer.errors?.[0]?.message,
  ...answer.errors?.[0]?.extensions,
});

export async function submit(key: KeyName, input: Record<string, unknown>): Promise<Job> {
  const answer = await call<{ submitPrompt: Job }>(
    key,
    `mutation ($input: PromptInput!) { submitPrompt(input: $input) { ${JOB} } }`,
    { input: { ...SMALL, ...input } },
  );
  return dataOf(answer).submitPrompt;
}

export const cancel = (key: KeyName, id: string): Promise<Answer<{ cancelJob: Job }>> =>
  call(key, `mutation ($id: ID!) { cancelJob(id: $id) { ${JOB} } }`, { id });

export async function jobOf(key: KeyName, id: string): Promise<Job> {
  return dataOf(
    await call<{ job: Job }>(key, `query ($id: ID!) { job(id: $id) { ${JOB} } }`, { id }),
  ).job;
}

export interface Followed {
  /** Every state, in the order it arrived. */
  readonly events: { readonly job: Job }[];
  /** The final state. */
  readonly done: Promise<Job>;
}

/** Follows a job over graphql-ws with the key, from its current state to its final one. */
export function follow(
  key: KeyName,
  id: string,
  onEvent: (job: Job) => void = () => undefined,
): Followed {
  const client = createClient({
    url: stack.webSocketUrl,
    webSocketImpl: WebSocket,
    connectionParams: { apiKey: KEYS[key] },
  });
  clients.push(client);
  const events: { job: Job }[] = [];
  const done = new Promise<Job>((resolve, reject) => {
    client.subscribe<{ jobUpdated: Job }>(
      { query: `subscription ($id: ID!) { jobUpdated(id: $id) { ${JOB} } }`, variables: { id } },
      {
        next: (result) => {
          const job = result.data?.jobUpdated;
          if (job == null) {
            reject(new Error(JSON.stringify(result.errors)));
            return;
          }
          events.push({ job });
          onEvent(job);
        },
        error: (error: unknown) => {
          reject(new Error(`subscription failed: ${JSON.stringify(error)}`));
        },
        complete: () => {
          const last = events.at(-1)?.job;
          if (last === undefined) reject(new Error('no event'));
          else resolve(last);
        },
      },
    );
  });
  done.catch(() => undefined);
  return { events, done };
}

export const ms = (time: string | null): number => (time === null ? Number.NaN : Date.parse(time));

/** An answer, with the test's clock just before it was asked for and just after it came. */
export interface Timed<T> {
  readonly value: T;
  readonly askedAt: number;
  readonly answeredAt: number;
}

export async function timed<T>(read: () => Promise<T>): Promise<Timed<T>> {
  const askedAt = Date.now();
  const value = await read();
  return { value, askedAt, answeredAt: Date.now() };
}

/**
 * Starts the stack before the file's tests and stops it after them; after a failed test, cancels
 * what it left queued or running.
 */
export function useJobControlStack(): void {
  beforeAll(async () => {
    ({ stack, dir } = await startTinyStack('job-control', {
      ZEUS_PROGRESS_INTERVAL_MS: '0',
      ZEUS_MIN_STEP_MS: String(STEP_MS),
      ZEUS_API_KEYS: Object.entries(KEYS)
        .map(([name, key]) => `${name}:${key}`)
        .join(','),
      ZEUS_KEY_PRIORITIES: 'alice:10',
      ZEUS_RATE_LIMIT: '10/60s',
      ZEUS_MAX_QUEUED: '8',
      ZEUS_MAX_BATCH: '6',
      ZEUS_WEBHOOK_SECRET: SECRET,
      // The receiver is on loopback.
      ZEUS_WEBHOOK_ALLOW_PRIVATE: 'true',
      ZEUS_WEBHOOK_BACKOFF_MS: '200',
    }));
    redis = connectRedis(stack.redisUrl, { name: 'job-control-test', role: 'requests' });
    timings = new JobTimingsStore(redis, new RedisKeys());
  }, 180_000);

  afterAll(async () => {
    await Promise.all(
      clients.map(async (client) => {
        await client.dispose();
      }),
    );
    await closeRedis(redis);
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // A failed test may leave jobs queued or running: they are cancelled, so that the tests after it
  // find the worker free and the queue (ZEUS_MAX_QUEUED) with room, and fail only for themselves.
  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail') return;
    for (const key of Object.keys(KEYS) as KeyName[]) {
      const answer = await call<{ jobs: { edges: { node: { id: string; status: string } }[] } }>(
        key,
        '{ jobs(first: 100) { edges { node { id status } } } }',
      );
      for (const { node } of answer.data?.jobs.edges ?? []) {
        if (node.status === 'QUEUED' || node.status === 'RUNNING') await cancel(key, node.id);
      }
    }
  });
}
