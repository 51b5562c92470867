/**
 * Webhooks: each stage and the final state POSTed to a receiver of the test's own, signed, retried
 * after a failure, each delivered once; URLs that are not http or https refused. On the stack of
 * tests/e2e/job-control.test.ts (harness.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '@zeus/core';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { deferred } from '../../helpers/deferred.ts';
import { eventually } from '../../helpers/eventually.ts';
import { call, dataOf, errorOf, submit, follow } from './harness.ts';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly answered: number;
}

/** The tests of `describe('webhooks')`. */
export function webhooks(): void {
  let receiver: Server;
  let url: string;
  const received: Received[] = [];
  const listeners: ((request: Received) => void)[] = [];

  beforeAll(async () => {
    const seen = new Set<string>();
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const id = String(request.headers['zeus-webhook-id']);
        // Every event's first attempt fails: Zeus must try again.
        const answered = seen.has(id) ? 204 : 503;
        seen.add(id);
        const entry = {
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
          answered,
        };
        received.push(entry);
        response.writeHead(answered).end();
        for (const listener of listeners) listener(entry);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/zeus`;
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('POSTs each stage and the final state, signed, retried after a failure, each delivered once', async () => {
    // Deliveries may arrive in any order (each is retried on its own): wait for all of them.
    const expected = ['DECODING', 'DENOISING', 'ENCODING_PROMPT', 'LOADING_MODEL', 'SAVING'];
    const allDelivered = deferred();
    const deliveredTypes = new Set<string>();
    listeners.push((entry) => {
      if (entry.answered !== 204) return;
      const event = JSON.parse(entry.body) as { type: string; job: { stage: string } };
      deliveredTypes.add(event.type === 'job.stage' ? event.job.stage : event.type);
      if ([...expected, 'job.succeeded'].every((type) => deliveredTypes.has(type))) {
        allDelivered.resolve(undefined);
      }
    });
    const job = await submit('frank', {
      prompt: 'a hooked fox',
      webhookUrl: url,
      webhookEvents: 'STAGES',
    });
    await follow('frank', job.id).done;
    // Waited for as long as the test may run; should that end first, it says what came.
    onTestFailed(() => {
      console.log(`webhook events delivered so far: ${[...deliveredTypes].join(', ')}`);
    });
    await allDelivered.promise;

    const ofJob = received.filter(
      (entry) => (JSON.parse(entry.body) as { job: { id: string } }).job.id === job.id,
    );
    // Frank's own signing secret, as the API tells his key (docs/api/webhooks.md).
    const { webhookSecret } = dataOf(
      await call<{ webhookSecret: string }>('frank', '{ webhookSecret }'),
    );
    for (const entry of ofJob) {
      // What a receiver does (docs/api/webhooks.md): verify the signature over timestamp + "." + body.
      expect(
        verifyWebhook({
          secret: webhookSecret,
          body: entry.body,
          timestamp: String(entry.headers['zeus-webhook-timestamp']),
          signature: String(entry.headers['zeus-webhook-signature']),
        }),
      ).toBe(true);
      expect(entry.headers['content-type']).toBe('application/json');
    }
    const delivered = ofJob.filter((entry) => entry.answered === 204);
    const events = delivered.map(
      (entry) =>
        JSON.parse(entry.body) as {
          id: string;
          type: string;
          job: { stage: string; status: string };
        },
    );
    // Each event delivered exactly once, whichever of the three servers sent it.
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    const stages = events
      .filter((event) => event.type === 'job.stage')
      .map((event) => event.job.stage)
      .sort();
    expect(stages).toEqual(expected);
    expect(events.filter((event) => event.type === 'job.succeeded')).toHaveLength(1);
    // Every event was tried twice: 503, then 204.
    expect(ofJob).toHaveLength(2 * events.length);

    const deliveries = await eventually(async () => {
      const found = dataOf(
        await call<{
          job: {
            webhook: { url: string; events: string };
            webhookDeliveries: {
              eventId: string;
              event: string;
              attempt: number;
              status: number | null;
              ok: boolean;
              error: string | null;
            }[];
          };
        }>(
          'frank',
          'query ($id: ID!) { job(id: $id) { webhook { url events } webhookDeliveries { eventId event attempt status ok error at } } }',
          { id: job.id },
        ),
      ).job;
      if (found.webhookDeliveries.length < 2 * events.length) throw new Error('not yet recorded');
      return found;
    }, 10_000);
    expect(deliveries.webhook).toEqual({ url, events: 'STAGES' });
    const final = deliveries.webhookDeliveries.filter((d) => d.event === 'job.succeeded');
    expect(final).toMatchObject([
      { attempt: 1, status: 503, ok: false, error: 'The receiver answered HTTP 503.' },
      { attempt: 2, status: 204, ok: true, error: null },
    ]);
  }, 60_000);

  it('refuses webhook URLs that are not http or https', async () => {
    const answer = await call(
      'frank',
      'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }',
      { input: { prompt: 'x', webhookUrl: 'file:///etc/passwd' } },
    );
    expect(errorOf(answer)).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'webhookUrl',
      rule: 'url',
    });
  });
}
