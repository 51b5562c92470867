/**
 * Webhooks' protections, on API servers in this process on a real Redis with API keys on: each
 * tenant's events signed with its own secret, and one slow receiver unable to starve the others.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ALICE, BOB, codeOf, KeyedApi, type Answer } from '../test-support/keyed-api.ts';

const PREFIX = 'hooks';

let api: KeyedApi;

beforeAll(async () => {
  api = await KeyedApi.start(PREFIX);
});

afterAll(async () => {
  await api.close();
});

describe('webhooks', () => {
  const SECRET = 'the-operators-webhook-secret';
  interface Received {
    readonly headers: IncomingHttpHeaders;
    readonly body: string;
  }
  let receiver: Server;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  it("are signed with their owner's own secret, which only that key can read", async () => {
    const at = await api.startServer({
      ZEUS_WEBHOOK_SECRET: SECRET,
      // The receiver is on loopback.
      ZEUS_WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    const secretOf = async (key?: string): Promise<Answer> =>
      api.post('{ webhookSecret }', {}, key, at);
    const alice = (await secretOf(ALICE)).body.data?.['webhookSecret'];
    const bob = (await secretOf(BOB)).body.data?.['webhookSecret'];
    expect(typeof alice).toBe('string');
    expect(typeof bob).toBe('string');
    expect(alice).not.toBe(bob);
    expect(alice).not.toBe(SECRET);
    expect(codeOf(await secretOf())).toBe('UNAUTHENTICATED');

    // Both point their jobs at the same receiver (Bob at Alice's, say), and cancel them: one
    // job.cancelled event each.
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const SUBMIT_HOOKED = 'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }';
    const jobOf: Record<string, string> = {};
    for (const [name, key] of [
      ['alice', ALICE],
      ['bob', BOB],
    ] as const) {
      const answer = await api.post(
        SUBMIT_HOOKED,
        { input: { prompt: `${name}'s fox`, webhookUrl: receiverUrl } },
        key,
        at,
      );
      expect(answer.body.errors).toBeUndefined();
      const id = (answer.body.data?.['submitPrompt'] as { id: string }).id;
      jobOf[name] = id;
      const cancel = await api.post(`mutation { cancelJob(id: "${id}") { status } }`, {}, key, at);
      expect(cancel.body.errors).toBeUndefined();
    }
    await vi.waitFor(() => {
      expect(received).toHaveLength(2);
    }, 30_000);

    const verifies = (entry: Received, secret: unknown): boolean =>
      verifyWebhook({
        secret: String(secret),
        body: entry.body,
        timestamp: String(entry.headers['zeus-webhook-timestamp']),
        signature: String(entry.headers['zeus-webhook-signature']),
      });
    const eventOf = (name: string): Received => {
      const found = received.find(
        (entry) => (JSON.parse(entry.body) as { job: { id: string } }).job.id === jobOf[name],
      );
      if (found === undefined) throw new Error(`no event for ${name}'s job`);
      return found;
    };
    // Each receiver accepts its own tenant's events, and neither the other's nor one signed
    // with the operator's secret.
    expect(verifies(eventOf('alice'), alice)).toBe(true);
    expect(verifies(eventOf('alice'), bob)).toBe(false);
    expect(verifies(eventOf('bob'), bob)).toBe(true);
    expect(verifies(eventOf('bob'), alice)).toBe(false);
    expect(verifies(eventOf('alice'), SECRET)).toBe(false);
  });

  it('keep one slow receiver from starving the others (finding 7)', async () => {
    // Alice's receiver takes her events and never answers (until the test lets it).
    const held: ServerResponse[] = [];
    const slow = createServer((request, response) => {
      request.resume();
      held.push(response);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const at = await api.startServer({
        ZEUS_WEBHOOK_SECRET: SECRET,
        ZEUS_WEBHOOK_ALLOW_PRIVATE: 'true',
        // Longer than the test waits: only the cap per receiver can let Bob's event through.
        ZEUS_WEBHOOK_TIMEOUT_MS: '120000',
      });
      const hook = (server: Server): string =>
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const SUBMIT_HOOKED =
        'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }';
      const cancelled = async (key: string, webhookUrl: string): Promise<string> => {
        const answer = await api.post(
          SUBMIT_HOOKED,
          { input: { prompt: 'a fox', webhookUrl } },
          key,
          at,
        );
        const id = (answer.body.data?.['submitPrompt'] as { id: string }).id;
        const cancel = await api.post(
          `mutation { cancelJob(id: "${id}") { status } }`,
          {},
          key,
          at,
        );
        expect(cancel.body.errors).toBeUndefined();
        return id;
      };
      // Ten events for the slow receiver, more than the server's eight deliveries at a time.
      for (let i = 0; i < 10; i += 1) await cancelled(ALICE, hook(slow));
      await vi.waitFor(() => {
        expect(held.length).toBeGreaterThanOrEqual(2);
      }, 30_000);
      const before = received.length;
      const bobs = await cancelled(BOB, hook(receiver));
      await vi.waitFor(() => {
        expect(received.length).toBe(before + 1);
      }, 30_000);
      expect(JSON.parse(received.at(-1)?.body ?? '{}')).toMatchObject({ job: { id: bobs } });
      // Meanwhile the slow receiver had two of Alice's requests, no more, none answered.
      expect(held).toHaveLength(2);
      // Let it answer: the rest of her events follow, each delivered once on its first attempt.
      const answerAll = setInterval(() => {
        for (const response of held.splice(0)) response.writeHead(204).end();
      }, 50);
      try {
        await vi.waitFor(async () => {
          const page = await api.post(
            '{ jobs(first: 20) { edges { node { webhookDeliveries { ok attempt } } } } }',
            {},
            ALICE,
            at,
          );
          const edges = (
            page.body.data?.['jobs'] as {
              edges: { node: { webhookDeliveries: { ok: boolean; attempt: number }[] } }[];
            }
          ).edges;
          expect(edges).toHaveLength(10);
          for (const edge of edges) {
            expect(edge.node.webhookDeliveries).toEqual([{ ok: true, attempt: 1 }]);
          }
        }, 60_000);
      } finally {
        clearInterval(answerAll);
      }
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});
