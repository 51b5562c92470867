/**
 * The API server's own protections, one real server in this process on a real Redis, with API
 * keys on: what each tenant may see and do, and what unkeyed callers are refused. Webhooks are
 * webhook-security.int.test.ts; the whole stack through Caddy under attack is tests/security/.
 */
import { crc32, deflateSync } from 'node:zlib';
import { RedisKeys, WorkerHeartbeats } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webSocketClient } from '../../tests/helpers/graphql.ts';
import { ALICE, BOB, codeOf, KeyedApi, SUBMIT, type Answer } from '../test-support/keyed-api.ts';

const PREFIX = 'security';

let api: KeyedApi;

beforeAll(async () => {
  api = await KeyedApi.start(PREFIX);
});

afterAll(async () => {
  await api.close();
});

describe('tenants with API keys', () => {
  it("shows a worker's current job id only to the job's owner", async () => {
    const aliceJob = await api.submit(ALICE, 'alice’s fox');
    const heartbeats = new WorkerHeartbeats(api.redis, new RedisKeys(PREFIX));
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
      expect((await api.post(query, {}, ALICE)).body.data).toEqual({
        workers: [{ id: 'gpu-1', currentJobId: aliceJob, currentJob: { id: aliceJob } }],
      });
      expect((await api.post(query, {}, BOB)).body.data).toEqual({
        workers: [{ id: 'gpu-1', currentJobId: null, currentJob: null }],
      });
      expect(codeOf(await api.post(query))).toBe('UNAUTHENTICATED');
    } finally {
      await heartbeats.remove('gpu-1');
    }
  });
});

describe('submissions', () => {
  it('charge the rate limit before the input is checked: refused ones are not free', async () => {
    const limited = await api.startServer({ ZEUS_RATE_LIMIT: '3/60s' });
    for (let i = 0; i < 3; i += 1) {
      const invalid = await api.post(SUBMIT, { input: { prompt: ' ' } }, ALICE, limited);
      expect(codeOf(invalid)).toBe('BAD_USER_INPUT');
    }
    const valid = await api.post(SUBMIT, { input: { prompt: 'a fox' } }, ALICE, limited);
    expect(codeOf(valid)).toBe('RATE_LIMITED');
    // Bob has his own count.
    await api.submit(BOB, 'an owl', limited);
  });
});

describe('query cost', () => {
  const pages = (count: number): string =>
    `query Pages($n: Int) { ${Array.from(
      { length: count },
      (_, i) => `j${i}: jobs(first: $n) { edges { node { id webhookDeliveries { ok } } } }`,
    ).join(' ')} }`;

  it('counts page sizes given as variables, over HTTP and WebSocket', async () => {
    const refused = await api.post(pages(10), { n: 100 }, ALICE);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      rule: 'maxCost',
      limit: 20_000,
    });
    expect(refused.body.data ?? null).toBeNull();
    // The same query with small pages is fine.
    expect((await api.post(pages(10), { n: 2 }, ALICE)).body.errors).toBeUndefined();

    const socket = webSocketClient(api.url.replace('http', 'ws') + '/graphql', { apiKey: ALICE });
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
      const response = await fetch(`${api.url}/graphql`, {
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

  const upload = async (body: Buffer, key?: string, at = api.url) => {
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
    expect(await api.redis.keys(`${PREFIX}:upload:*`)).toEqual([]);
    expect((await upload(await png(16), ALICE)).status).toBe(201);
  });

  it('stop a key at its byte quota, and everyone at the total, whatever the rate limit', async () => {
    const image = await png(64);
    const quotaUrl = await api.startServer({
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
