/**
 * The fan-out benchmark's subscribers, in a process of their own (several such processes hold
 * thousands of sockets between them). Each subscriber is its own graphql-ws client, so its own
 * WebSocket through Caddy, following `jobUpdated` for one job. On each progress step it
 * records the delay from the record's `updatedAt` (when the publisher's update began) to now.
 *
 * Messages from the benchmark: `{ type: 'finish', steps, waitMs }`: every subscriber should have
 * received steps 1…`steps`; waits up to `waitMs` for stragglers, says `received`, closes its
 * clients, then reports and exits.
 *
 *   argv: <ws url> <subscribers> <first index> <job id,job id,…>
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { reportResult, runChildMain, send } from '../lib/child.ts';

export interface SubscribersResult {
  readonly subscribers: number;
  /** Milliseconds from publish to receipt, one per progress message received. */
  readonly latenciesMs: readonly number[];
  /** Progress steps that some subscriber should have received and did not. */
  readonly lost: number;
  /** Steps a subscriber received more than once. */
  readonly duplicates: number;
  /** Subscriptions that ended in an error or were closed before the end. */
  readonly failures: number;
  readonly connectSeconds: number;
}

const QUERY = 'subscription ($id: ID!) { jobUpdated(id: $id) { status step updatedAt } }';
/** Sockets being opened at once: enough to be quick, few enough not to overflow accept queues. */
const CONNECT_CONCURRENCY = 50;

interface Subscriber {
  readonly client: Client;
  readonly steps: Set<number>;
  duplicates: number;
  failed: boolean;
}

runChildMain(async () => {
  const [url, countText, firstText, idsText] = process.argv.slice(2);
  if (url === undefined || countText === undefined || firstText === undefined || !idsText) {
    throw new Error('usage: subscribers <ws url> <count> <first index> <job ids>');
  }
  const ids = idsText.split(',');
  const count = Number(countText);
  const first = Number(firstText);
  const latencies: number[] = [];
  const subscribers: Subscriber[] = [];
  let onStep: (() => void) | null = null;

  const connectStarted = performance.now();
  const open = (index: number): Promise<void> =>
    new Promise((resolve) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        keepAlive: 0,
        lazy: true,
      });
      const subscriber: Subscriber = { client, steps: new Set(), duplicates: 0, failed: false };
      subscribers.push(subscriber);
      const id = ids[(first + index) % ids.length] ?? '';
      let ready = false;
      client.subscribe<{ jobUpdated: { status: string; step: number; updatedAt: string } }>(
        { query: QUERY, variables: { id } },
        {
          next: ({ data }) => {
            if (!ready) {
              // The first message is the job's state when subscribing.
              ready = true;
              resolve();
              return;
            }
            const update = data?.jobUpdated;
            if (update === undefined) return;
            latencies.push(Date.now() - Date.parse(update.updatedAt));
            if (subscriber.steps.has(update.step)) subscriber.duplicates += 1;
            subscriber.steps.add(update.step);
            onStep?.();
          },
          error: () => {
            subscriber.failed = true;
            resolve();
          },
          complete: () => {
            resolve();
          },
        },
      );
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        await open(index);
      }
    }),
  );
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  send({ type: 'ready', failed: subscribers.filter((s) => s.failed).length });

  const finish = await new Promise<{ steps: number; waitMs: number }>((resolve) => {
    process.once('message', (message) => {
      resolve(message as { steps: number; waitMs: number });
    });
  });
  const missing = (): number =>
    subscribers.reduce(
      (sum, s) => sum + (s.failed ? finish.steps : finish.steps - s.steps.size),
      0,
    );
  if (missing() > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, finish.waitMs);
      onStep = () => {
        if (missing() === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }
  // Everything has arrived (or never will): the benchmark stops measuring CPU before clients close.
  send({ type: 'received' });
  const result: SubscribersResult = {
    subscribers: subscribers.length,
    latenciesMs: latencies,
    lost: missing(),
    duplicates: subscribers.reduce((sum, s) => sum + s.duplicates, 0),
    failures: subscribers.filter((s) => s.failed).length,
    connectSeconds,
  };
  await Promise.all(
    subscribers.map(async (s) => {
      await s.client.dispose();
    }),
  );
  reportResult(result);
});
