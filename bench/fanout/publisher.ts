/**
 * The fan-out benchmark's stand-in worker, in its own process. It publishes job progress the
 * way the worker does, through `JobStore.update` (the compare-and-set Lua script that stores the
 * record and PUBLISHes it on the job's channel); each record's `updatedAt` is the moment the
 * update began, which subscribers read back on receipt.
 *
 * Messages from the benchmark: `{ type: 'setup', jobs }` creates and starts that many jobs and
 * answers `{ type: 'jobs', ids }`; `{ type: 'publish', events, intervalMs }` sends `events`
 * progress steps to every job, one step per job every `intervalMs`, jobs spread evenly over
 * the interval, then reports.
 *
 *   argv: <redis url>
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeRedis, connectRedis, JobStore, newJob, RedisKeys } from '@zeus/core';
import { reportResult, runChildMain, send } from '../lib/child.ts';

export interface PublisherResult {
  /** Updates made, and how many came later than planned by more than 10 ms. */
  readonly updates: number;
  readonly late: number;
  /** Milliseconds each `JobStore.update` took (read, compare-and-set, publish). */
  readonly updateMs: readonly number[];
}

type Command =
  | { readonly type: 'setup'; readonly jobs: number; readonly events: number }
  | { readonly type: 'publish'; readonly events: number; readonly intervalMs: number };

runChildMain(async () => {
  const [redisUrl] = process.argv.slice(2);
  if (redisUrl === undefined) throw new Error('usage: publisher <redis url>');
  const redis = connectRedis(redisUrl, { name: 'bench-publisher', role: 'background' });
  const store = new JobStore(redis, new RedisKeys(), { maxQueued: 1_000_000 });
  let ids: string[] = [];

  const commands = new Promise<void>((resolve, reject) => {
    process.on('message', (raw) => {
      const command = raw as Command;
      const handle = async (): Promise<boolean> => {
        if (command.type === 'setup') {
          ids = await createRunningJobs(store, command.jobs, command.events);
          send({ type: 'jobs', ids });
          return false;
        }
        const result = await publish(store, ids, command.events, command.intervalMs);
        await closeRedis(redis);
        reportResult(result);
        return true;
      };
      handle().then((done) => {
        if (done) resolve();
      }, reject);
    });
  });
  send({ type: 'ready' });
  await commands;
});

async function createRunningJobs(
  store: JobStore,
  count: number,
  events: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const job = newJob({
      id: randomUUID(),
      settings: {
        prompt: `fan-out benchmark job ${i}`,
        negativePrompt: '',
        width: 768,
        height: 512,
        numFrames: 121,
        frameRate: 25,
        seed: i,
      },
      model: 'ltxv-2b-0.9.6-distilled',
      totalSteps: events,
      now: new Date(),
    });
    await store.submit(job);
    await store.update(job.id, { type: 'start', workerId: 'bench-publisher', totalSteps: events });
    ids.push(job.id);
  }
  return ids;
}

async function publish(
  store: JobStore,
  ids: readonly string[],
  events: number,
  intervalMs: number,
): Promise<PublisherResult> {
  const updateMs: number[] = [];
  let late = 0;
  const start = performance.now() + 100;
  for (let step = 1; step <= events; step += 1) {
    for (const [index, id] of ids.entries()) {
      const due = start + (step - 1) * intervalMs + (index * intervalMs) / ids.length;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -10) late += 1;
      const began = performance.now();
      await store.update(id, { type: 'progress', attempt: 1, stage: 'DENOISING', step });
      updateMs.push(performance.now() - began);
    }
  }
  return { updates: updateMs.length, late, updateMs };
}
