/**
 * The API server's own protections, one real server in this process on a real Redis, with API
 * keys on: what each tenant may see and do, and what unkeyed callers are refused. The whole
 * stack (Caddy, three servers, a worker) under attack is tests/security/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import {
  closeRedis,
  connectRedis,
  createLogger,
  loadConfig,
  RedisKeys,
  verifyWebhook,
  WorkerHeartbeats,
  type Redis,
} from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { webSocketClient } from '../../tests/helpers/graphql.ts';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { startApiServer, type ApiServer } from './api-server.ts';
import { serverEnvironment } from './config.ts';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-fedcba9876543210';
const PREFIX = 'security';

let redisServer: TestRedis;
let redis: Redis;
let dir: string;
const servers: ApiServer[] = [];
let url = '';
let prefixes = 0;

/** One more API server on the test Redis, with keys on and its own key prefix unless given. */
async function startServer(env: Record<string, string> = {}): Promise<string> {
  prefixes += 1;
  const config = loadConfig(serverEnvironment, {
    REDIS_URL: redisServer.url,
    ZEUS_REDIS_PREFIX: `${PREFIX}${prefixes}`,
    ZEUS_MODEL: 'tiny-random',
    ZEUS_MODELS_DIR: join(dir, 'models'),
    ZEUS_GENERATED_DIR: join(dir, `generated-${prefixes}`),
    ZEUS_API_HOST: '127.0.0.1',
    ZEUS_API_PORT: '0',
    ZEUS_API_KEYS: `alice:${ALICE},bob:${BOB}`,
    ZEUS_RATE_LIMIT: '1000/60s',
    ZEUS_DRAIN_DELAY_MS: '0',
    ...env,
  });
  const server = await startApiServer(config, createLogger('api', 'silent'));
  servers.push(server);
  if (!('port' in server.address)) throw new Error('the API server listens on a socket');
  return `http://127.0.0.1:${server.address.port}`;
}

interface Answer {
  readonly status: number;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

async function post(
  query: string,
  variables: Record<string, unknown> = {},
  key?: string,
  at = url,
): Promise<Answer> {
  const response = await fetch(`${at}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const codeOf = (answer: Answer): unknown => answer.body.errors?.[0]?.extensions?.['code'];

const SUBMIT = 'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }';

async function submit(key: string, prompt = 'a fox', at = url): Promise<string> {
  const answer = await post(SUBMIT, { input: { prompt } }, key, at);
  expect(answer.body.errors).toBeUndefined();
  return (answer.body.data?.['submitPrompt'] as { id: string }).id;
}

beforeAll(async () => {
  redisServer = await startTestRedis();
  redis = connectRedis(redisServer.url, { name: 'security-test', role: 'requests' });
  dir = await mkdtemp(join(tmpdir(), 'zeus-security-'));
  url = await startServer({ ZEUS_REDIS_PREFIX: PREFIX });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await closeRedis(redis);
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('tenants with API keys', () => {
  it("shows a worker's current job id only to the job's owner", async () => {
    const aliceJob = await submit(ALICE, 'alice’s fox');
    const heartbeats = new WorkerHeartbeats(redis, new RedisKeys(PREFIX));
    const now = new Date().toISOString();
    await heartbeats.beat(
      {
        workerId: 'gpu-1',
        model: 'tiny-random',
        device: 'cuda',
        modelReady: true,
        jobId: aliceJob,
        pid: 1,
        hostname: 'gpu',
        startedAt: now,
        beatAt: now,
      },
      60_000,
    );
    try {
      const query = '{ workers { id currentJobId currentJob { id } } }';
      expect((await post(query, {}, ALICE)).body.data).toEqual({
        workers: [{ id: 'gpu-1', currentJobId: aliceJob, currentJob: { id: aliceJob } }],
      });
      expect((await post(query, {}, BOB)).body.data).toEqual({
        workers: [{ id: 'gpu-1', currentJobId: null, currentJob: null }],
      });
      expect(codeOf(await post(query))).toBe('UNAUTHENTICATED');
    } finally {
      await heartbeats.remove('gpu-1');
    }
  });
});

describe('submissions', () => {
  it('charge the rate limit before the input is checked: refused ones are not free', async () => {
    const limited = await startServer({ ZEUS_RATE_LIMIT: '3/60s' });
    for (let i = 0; i < 3; i += 1) {
      const invalid = await post(SUBMIT, { input: { prompt: ' ' } }, ALICE, limited);
      expect(codeOf(invalid)).toBe('BAD_USER_INPUT');
    }
    const valid = await post(SUBMIT, { input: { prompt: 'a fox' } }, ALICE, limited);
    expect(codeOf(valid)).toBe('RATE_LIMITED');
    // Bob has his own count.
    await submit(BOB, 'an owl', limited);
  });
});

describe('query cost', () => {
  const pages = (count: number): string =>
    `query Pages($n: Int) { ${Array.from(
      { length: count },
      (_, i) => `j${i}: jobs(first: $n) { edges { node { id webhookDeliveries { ok } } } }`,
    ).join(' ')} }`;

  it('counts page sizes given as variables, over HTTP and WebSocket', async () => {
    const refused = await post(pages(10), { n: 100 }, ALICE);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      rule: 'maxCost',
      limit: 20_000,
    });
    expect(refused.body.data ?? null).toBeNull();
    // The same query with small pages is fine.
    expect((await post(pages(10), { n: 2 }, ALICE)).body.errors).toBeUndefined();

    const socket = webSocketClient(url.replace('http', 'ws') + '/graphql', { apiKey: ALICE });
    try {
      const errors = await new Promise<unknown>((resolve) => {
        socket.client.subscribe(
          // graphql-ws runs queries too: the same limit applies there.
          { query: pages(10), variables: { n: 100 } },
          { next: () => undefined, error: resolve, complete: () => undefined },
        );
      });
      expect(errors).toMatchObject([
        { extensions: { code: 'QUERY_TOO_COMPLEX', rule: 'maxCost' } },
      ]);
    } finally {
      await socket.client.dispose();
    }
  });

  it('gives a batch of operations one budget between them', async () => {
    const batch = async (count: number): Promise<Answer['body'][]> => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ALICE}` },
        body: JSON.stringify(
          Array.from({ length: count }, () => ({ query: pages(2), variables: { n: 100 } })),
        ),
      });
      return (await response.json()) as Answer['body'][];
    };
    // One operation of two pages of 100 (about 13,700) is within the limit; ten of them in one
    // request are not: all but one are refused, whichever order they ran in.
    const one = await batch(1);
    expect(one[0]?.errors).toBeUndefined();
    const ten = await batch(10);
    const refused = ten.filter((body) => body.errors?.[0]?.extensions?.['rule'] === 'maxCost');
    const answered = ten.filter((body) => body.errors === undefined);
    expect(answered.length + refused.length).toBe(10);
    expect(answered.length).toBe(1);
  });
});

describe('uploads', () => {
  /** A grey RGB PNG, stored uncompressed: about 3 bytes a pixel. */
  const png = (side: number): Promise<Buffer> => {
    const chunk = (type: string, data: Buffer): Buffer => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const framed = Buffer.alloc(body.length + 8);
      framed.writeUInt32BE(data.length, 0);
      body.copy(framed, 4);
      framed.writeUInt32BE(crc32(body), body.length + 4);
      return framed;
    };
    const header = Buffer.alloc(13);
    header.writeUInt32BE(side, 0);
    header.writeUInt32BE(side, 4);
    header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
    const row = Buffer.concat([Buffer.of(0), Buffer.alloc(side * 3, 128)]);
    const pixels = deflateSync(Buffer.concat(Array.from({ length: side }, () => row)), {
      level: 0,
    });
    return Promise.resolve(
      Buffer.concat([
        Buffer.from('89504e470d0a1a0a', 'hex'),
        chunk('IHDR', header),
        chunk('IDAT', pixels),
        chunk('IEND', Buffer.alloc(0)),
      ]),
    );
  };

  const upload = async (body: Buffer, key?: string, at = url) => {
    const response = await fetch(`${at}/uploads`, {
      method: 'POST',
      headers: {
        'content-type': 'image/png',
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
      body: new Uint8Array(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('need a key when keys are on, and store nothing without one', async () => {
    const keyless = await upload(await png(16));
    expect(keyless.status).toBe(401);
    expect(keyless.body).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(await redis.keys(`${PREFIX}:upload:*`)).toEqual([]);
    expect((await upload(await png(16), ALICE)).status).toBe(201);
  });

  it('stop a key at its byte quota, and everyone at the total, whatever the rate limit', async () => {
    const image = await png(64);
    const quotaUrl = await startServer({
      ZEUS_UPLOAD_QUOTA_BYTES: String(image.length * 3),
      ZEUS_UPLOAD_TOTAL_BYTES: String(image.length * 5),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await upload(image, ALICE, quotaUrl)).status);
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
    // Bob has his own quota, until both together reach the total.
    const bob: number[] = [];
    for (let i = 0; i < 3; i += 1) bob.push((await upload(image, BOB, quotaUrl)).status);
    expect(bob).toEqual([201, 201, 503]);
  });
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
    const at = await startServer({
      ZEUS_WEBHOOK_SECRET: SECRET,
      // The receiver is on loopback.
      ZEUS_WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    const secretOf = async (key?: string): Promise<Answer> =>
      post('{ webhookSecret }', {}, key, at);
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
      const answer = await post(
        SUBMIT_HOOKED,
        { input: { prompt: `${name}'s fox`, webhookUrl: receiverUrl } },
        key,
        at,
      );
      expect(answer.body.errors).toBeUndefined();
      const id = (answer.body.data?.['submitPrompt'] as { id: string }).id;
      jobOf[name] = id;
      const cancel = await post(`mutation { cancelJob(id: "${id}") { status } }`, {}, key, at);
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
      const at = await startServer({
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
        const answer = await post(
          SUBMIT_HOOKED,
          { input: { prompt: 'a fox', webhookUrl } },
          key,
          at,
        );
        const id = (answer.body.data?.['submitPrompt'] as { id: string }).id;
        const cancel = await post(`mutation { cancelJob(id: "${id}") { status } }`, {}, key, at);
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
          const page = await post(
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
