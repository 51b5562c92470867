/**
 * Faults 1 to 5 of tests/e2e/faults.test.ts, on its stack (harness.ts): a process dies or
 * restarts under jobs queued, running and followed: the worker killed mid-job, Redis stopped and
 * killed, an API server killed under its subscribers, Caddy reloaded.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fetchVia } from '../../../deploy/endpoints.ts';
import { eventually } from '../../helpers/eventually.ts';
import { followJob } from '../../helpers/follow-job.ts';
import { graphqlRequest, type JobResult } from '../../helpers/graphql.ts';
import {
  LONG,
  SHORT,
  FAULT_TIMEOUT_MS,
  stack,
  disk,
  tracked,
  faults,
  addExtraReconnections,
  submit,
  nextEvent,
  when,
  partialFiles,
  expectFinal,
  busiestServer,
} from './harness.ts';

/** Registers faults 1 to 5, in order. */
export function processFaults(): void {
  it(
    '1. a worker killed mid-job: its job runs again, succeeds once, leaves no partial file',
    async () => {
      const decoding = when((job) => job.status === 'RUNNING' && job.stage === 'DECODING');
      const job = await submit('worker SIGKILL', LONG, { status: 'SUCCEEDED' }, decoding.onUpdate);
      const behind = await submit('worker SIGKILL', SHORT);
      await decoding.reached;
      const workerBefore = stack.pid('worker-1');
      const restarted = nextEvent('worker-1', 'spawned');
      stack.kill('worker-1', 'SIGKILL');
      faults.push({
        name: 'worker SIGKILL while decoding',
        outcome: 'restarted by the supervisor',
      });
      await restarted;
      // What the killed attempt was writing is still there until the job runs again.
      const leftBehind = await eventually(async () => {
        const files = await partialFiles(job.id);
        if (files.length === 0) throw new Error('no partial file yet');
        return files;
      }, 5_000).catch(() => []);

      const last = await expectFinal(job);
      expect(last).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
      const events = job.follower.events.map((event) => event.job);
      const firstRetry = events.findIndex((event) => event.attempts === 2);
      expect(events.slice(0, firstRetry).some((event) => event.stage === 'DECODING')).toBe(true);
      // Back to RUNNING from the start, then on to the end.
      expect(events[firstRetry]).toMatchObject({ status: 'RUNNING', stage: 'LOADING_MODEL' });
      expect(events.filter((event) => event.status === 'SUCCEEDED')).toHaveLength(1);
      // The video, its poster and the job's live previews, and nothing half-written.
      const files = await readdir(join(disk.path, job.id));
      expect(files.filter((name) => !/^preview-\d+\.jpg$/.test(name)).sort()).toEqual([
        'out.mp4',
        'poster.jpg',
      ]);
      await expectFinal(behind);
      expect(stack.pid('worker-1')).not.toBe(workerBefore);
      faults[faults.length - 1] = {
        name: 'worker SIGKILL while decoding',
        outcome: `retried (attempt 2), ${leftBehind.length} partial file(s) cleaned up`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const number = signal === 'SIGTERM' ? 2 : 3;
    it(
      `${number}. Redis ${signal === 'SIGTERM' ? 'stopped cleanly' : 'killed'} with jobs queued and running`,
      async () => {
        const finishedBefore = tracked.filter((job) => job.expected.status === 'SUCCEEDED')[0];
        const running = when((job) => job.status === 'RUNNING' && job.stage === 'DENOISING');
        const long = await submit(
          `Redis ${signal}`,
          LONG,
          { status: 'SUCCEEDED' },
          running.onUpdate,
        );
        const queued = [
          await submit(`Redis ${signal}`, SHORT),
          await submit(`Redis ${signal}`, SHORT),
        ];
        await running.reached;
        const restarted = nextEvent('redis', 'spawned');
        stack.kill('redis', signal);
        faults.push({ name: `Redis ${signal} with 1 job running, 2 queued`, outcome: 'restarted' });
        await restarted;

        // Servers and the worker reconnect by themselves; subscribers get every final state.
        for (const job of [long, ...queued]) await expectFinal(job);
        const attempts = long.follower.last()?.attempts ?? 0;
        faults[faults.length - 1] = {
          name: `Redis ${signal} with 1 job running, 2 queued`,
          outcome: `restarted; the running job finished (attempt ${attempts}), the queued ones too`,
        };
        // A job finished before the restart is still there, with its video.
        if (finishedBefore !== undefined) {
          const kept = await graphqlRequest<{ job: JobResult }>(
            stack.graphqlUrl,
            `{ job(id: "${finishedBefore.id}") { status videoUrl } }`,
          );
          expect(kept.data?.job).toMatchObject({ status: 'SUCCEEDED' });
        }
        // New work is taken again.
        const after = await eventually(() => submit(`Redis ${signal}`, SHORT), 20_000);
        await expectFinal(after);
      },
      FAULT_TIMEOUT_MS,
    );
  }

  it(
    '4. an API server killed under its subscribers: they move to the others and miss nothing',
    async () => {
      const running = when((job) => job.status === 'RUNNING' && job.stage === 'DENOISING');
      const long = await submit(
        'API server SIGKILL',
        LONG,
        { status: 'SUCCEEDED' },
        running.onUpdate,
      );
      // More subscribers of the same job: least_conn spreads their sockets over the servers.
      const subscribed = Array.from({ length: 5 }, () => when(() => true));
      const extra = subscribed.map(({ onUpdate }) =>
        followJob(stack.webSocketUrl, long.id, onUpdate),
      );
      await Promise.all(subscribed.map(({ reached }) => reached));
      await running.reached;
      const victim = await busiestServer();
      const exited = nextEvent(victim, 'exited');
      const back = nextEvent(victim, 'spawned');
      stack.kill(victim, 'SIGKILL');
      faults.push({ name: `API server SIGKILL (${victim}) with subscribers`, outcome: '' });
      await exited;
      // Caddy stops sending to it: the first request it sends there fails (Caddy 2.6.2 cannot
      // retry a request with a body after a refused connection), which takes the server out
      // (passive health check); every request after that is answered by the others.
      let answered = 0;
      const failures: { status: number; afterMs: number }[] = [];
      const killedAt = Date.now();
      const server = { back: false };
      void back.then(() => (server.back = true));
      while (!server.back || answered < 5) {
        const response = await fetch(stack.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ system { model } }' }),
        });
        const text = await response.text();
        if (response.status === 200) {
          expect(JSON.parse(text)).toEqual({ data: { system: { model: 'tiny-random' } } });
          answered += 1;
        } else {
          failures.push({ status: response.status, afterMs: Date.now() - killedAt });
        }
      }
      expect(failures.length).toBeLessThanOrEqual(1);
      for (const failure of failures) expect(failure).toMatchObject({ status: 502 });
      const followers = [long.follower, ...extra];
      const finals = await Promise.all(followers.map((follower) => follower.done));
      for (const events of finals) expect(events.at(-1)?.job.status).toBe('SUCCEEDED');
      await expectFinal(long);
      const moved = followers.filter((follower) => follower.drops.length > 0);
      expect(moved.length).toBeGreaterThan(0);
      for (const follower of moved) {
        // Subscribed again on the new connection: its first event there is the job's state at
        // that moment, never older than what the follower had already seen.
        const index = follower.events.findIndex((event) => event.connection > 0);
        expect(index).toBeGreaterThan(0);
        const before = Date.parse(follower.events[index - 1]?.job.updatedAt ?? '');
        expect(Date.parse(follower.events[index]?.job.updatedAt ?? '')).toBeGreaterThanOrEqual(
          before,
        );
      }
      for (const follower of followers) {
        const times = follower.events.map((event) => Date.parse(event.job.updatedAt));
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }
      addExtraReconnections(extra.reduce((sum, follower) => sum + follower.drops.length, 0));
      await Promise.all(extra.map((follower) => follower.dispose()));
      faults[faults.length - 1] = {
        name: `API server SIGKILL (${victim}) with subscribers`,
        outcome:
          `${moved.length} subscriber(s) reconnected; ${answered} requests answered by the ` +
          `others, ${failures.length} got 502 before Caddy left it out`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '5. Caddy reloaded with clients connected: they reconnect and miss nothing',
    async () => {
      const running = when((job) => job.status === 'RUNNING' && job.stage === 'DENOISING');
      const long = await submit('Caddy reload', LONG, { status: 'SUCCEEDED' }, running.onUpdate);
      await running.reached;
      const config = await (await fetchVia(stack.caddyAdminAddress, '/config/')).text();
      // Caddy 2.6 skips a reload of the same configuration unless told to revalidate.
      const reload = await fetchVia(stack.caddyAdminAddress, '/load', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cache-control': 'must-revalidate' },
        body: config,
      });
      expect(reload.status).toBe(200);
      faults.push({ name: 'Caddy configuration reload', outcome: '' });
      await expectFinal(long);
      const answer = await graphqlRequest(stack.graphqlUrl, '{ system { model } }');
      expect(answer.status).toBe(200);
      faults[faults.length - 1] = {
        name: 'Caddy configuration reload',
        outcome:
          long.follower.drops.length > 0
            ? `WebSocket closed (${long.follower.drops.join(', ')}; 2.6.2 has no stream_close_delay), client reconnected`
            : 'WebSocket kept open',
      };
    },
    FAULT_TIMEOUT_MS,
  );
}
