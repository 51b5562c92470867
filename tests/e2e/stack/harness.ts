/**
 * The stack tests/e2e/stack.test.ts starts once for all its tests (end-to-end.ts,
 * api-examples.ts): tiny-random on one worker, behind Caddy, with the helpers its tests share.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { LocalStack } from '../../../deploy/local-stack.ts';
import { startTinyStack } from '../../helpers/tiny-stack.ts';
import {
  graphqlRequest,
  SUBMIT,
  webSocketClient,
  type JobResult,
  type WebSocketClient,
} from '../../helpers/graphql.ts';

export const execFileAsync = promisify(execFile);

export let stack: LocalStack;
export let dir: string;
export const sockets: WebSocketClient[] = [];

export function client(): Client {
  const socket = webSocketClient(stack.webSocketUrl);
  sockets.push(socket);
  return socket.client;
}

export async function submit(input: Record<string, unknown>): Promise<JobResult> {
  const response = await graphqlRequest<{ submitPrompt: JobResult }>(stack.graphqlUrl, SUBMIT, {
    input,
  });
  expect(response.errors).toBeUndefined();
  const job = response.data?.submitPrompt;
  if (job == null) throw new Error('no job returned');
  return job;
}

export async function counts(): Promise<{ queueLength: number; totalCount: number }> {
  const response = await graphqlRequest<{
    system: { queueLength: number };
    jobs: { totalCount: number };
  }>(stack.graphqlUrl, '{ system { queueLength } jobs(first: 1) { totalCount } }');
  return {
    queueLength: response.data?.system.queueLength ?? -1,
    totalCount: response.data?.jobs.totalCount ?? -1,
  };
}

/** One line of a process's log (pino JSON). */
export interface LogLine {
  readonly level: string;
  readonly time: string;
  readonly component: string;
  readonly pid: number;
  readonly msg: string;
  readonly jobId?: string;
}

/** A job big enough to keep the worker busy for a second or more. */
export const SMALL = { width: 256, height: 256, numFrames: 17, frameRate: 12 };

/**
 * Starts the stack before the file's tests and stops it after them; each test starts with no
 * WebSocket of the helpers' open.
 */
export function useStack(): void {
  beforeAll(async () => {
    ({ stack, dir } = await startTinyStack('e2e', {
      // Info, as deployed: the job-id test reads the lines about one job from the logs.
      ZEUS_LOG_LEVEL: 'info',
      // The tiny model's steps take milliseconds: publish every one so the test sees them all.
      ZEUS_PROGRESS_INTERVAL_MS: '0',
      // A killed worker's job comes back after about twice this.
      ZEUS_JOB_LOCK_MS: '2000',
    }));
  });

  // Each test starts with no WebSocket open, so Caddy's connection counts are the test's own.
  afterEach(async () => {
    const open = sockets.splice(0);
    for (const socket of open) void socket.client.dispose();
    await Promise.all(open.map((socket) => socket.closed));
  });

  afterAll(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });
}
