/**
 * Only the right people in, against the real stack through Caddy: API keys on HTTP and
 * WebSocket, each key seeing only its own jobs (in the workers list too), the submission rate
 * limit shared by the three servers, browsers' origins (CORS and WebSocket), production
 * switches (no introspection, no playground). No worker: jobs stay queued. The client address
 * behind Caddy, without keys, is access-client-address.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis, RedisKeys, WorkerHeartbeats } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import {
  ALICE,
  BOB,
  bearer,
  codeOf,
  firstEvent,
  ORIGIN,
  post,
  type Answer,
} from '../helpers/access.ts';
import { SUBMIT, type GraphQLTarget } from '../helpers/graphql.ts';
import { rawWebSocket, UpgradeRefused } from '../helpers/raw-websocket.ts';

describe('with API keys, a rate limit and the production switches', () => {
  let stack: LocalStack;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zeus-access-'));
    const bobDigest = createHash('sha256').update(BOB).digest('hex');
    stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: 0,
      env: {
        ZEUS_MODEL: 'tiny-random',
        ZEUS_LOG_LEVEL: 'warn',
        ZEUS_API_KEYS: `alice:${ALICE},bob:sha256:${bobDigest}`,
        ZEUS_RATE_LIMIT: '3/60s',
        ZEUS_INTROSPECTION: 'false',
        ZEUS_PLAYGROUND: 'false',
        ZEUS_ALLOWED_ORIGINS: ORIGIN,
      },
    });
  });

  afterAll(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  let aliceJob = '';

  it('needs a key to submit, read or follow jobs, but not for the public queries', async () => {
    const submitted = await post(stack.graphqlUrl, SUBMIT, { input: { prompt: 'a fox' } });
    expect(codeOf(submitted)).toBe('UNAUTHENTICATED');
    expect(submitted.body.errors?.[0]?.message).toMatch(
      /needs an API key: send it as "Authorization: Bearer <key>"/,
    );
    for (const query of [
      '{ jobs { totalCount } }',
      '{ job(id: "00000000-0000-4000-8000-000000000000") { id } }',
    ]) {
      expect(codeOf(await post(stack.graphqlUrl, query))).toBe('UNAUTHENTICATED');
    }
    const open = await post(stack.graphqlUrl, '{ system { model } modelRules { steps } }');
    expect(open.body).toEqual({
      data: { system: { model: 'tiny-random' }, modelRules: { steps: 8 } },
    });

    const wrong = await post(
      stack.graphqlUrl,
      '{ system { model } }',
      {},
      bearer('not-a-real-key-000'),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors?.[0]).toEqual({
      message: 'The API key is not valid. Check it, or ask the operator of this Zeus for one.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it("keeps each key's jobs to itself, over HTTP and WebSocket", async () => {
    const mine = await post(
      stack.graphqlUrl,
      SUBMIT,
      { input: { prompt: 'alice’s fox' } },
      bearer(ALICE),
    );
    expect(mine.body.errors).toBeUndefined();
    aliceJob = (mine.body.data?.['submitPrompt'] as { id: string }).id;
    const bobs = await post(
      stack.graphqlUrl,
      SUBMIT,
      { input: { prompt: 'bob’s owl' } },
      { 'x-api-key': BOB },
    );
    const bobJob = (bobs.body.data?.['submitPrompt'] as { id: string }).id;

    const jobQuery = `{ job(id: "${aliceJob}") { id status } }`;
    expect((await post(stack.graphqlUrl, jobQuery, {}, bearer(ALICE))).body.data).toEqual({
      job: { id: aliceJob, status: 'QUEUED' },
    });
    const peek = await post(stack.graphqlUrl, jobQuery, {}, { 'x-api-key': BOB });
    expect(codeOf(peek)).toBe('FORBIDDEN');
    expect(peek.body.errors?.[0]?.message).toBe(
      'This job was submitted with another API key: only its owner can see it.',
    );

    const list = '{ jobs { totalCount edges { node { id } } } }';
    expect((await post(stack.graphqlUrl, list, {}, bearer(ALICE))).body.data).toEqual({
      jobs: { totalCount: 1, edges: [{ node: { id: aliceJob } }] },
    });
    expect((await post(stack.graphqlUrl, list, {}, bearer(BOB))).body.data).toEqual({
      jobs: { totalCount: 1, edges: [{ node: { id: bobJob } }] },
    });

    // WebSocket: the key in connectionParams (as the web app sends it), or none, or a wrong one.
    expect(await firstEvent(stack.webSocketUrl, aliceJob, { apiKey: ALICE })).toMatchObject({
      data: { jobUpdated: { id: aliceJob, status: 'QUEUED', queuePosition: 1 } },
    });
    expect(await firstEvent(stack.webSocketUrl, aliceJob, { apiKey: BOB })).toMatchObject({
      errors: [{ extensions: { code: 'FORBIDDEN' } }],
    });
    expect(await firstEvent(stack.webSocketUrl, aliceJob)).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
    const refused = rawWebSocket(stack.webSocketUrl);
    await refused.opened;
    refused.send({ type: 'connection_init', payload: { apiKey: 'not-a-real-key-000' } });
    expect(await refused.closed).toEqual({ code: 4403, reason: 'Forbidden' });
  });

  it("lists the workers to any key, but not another key's job a worker runs", async () => {
    // No worker runs here (jobs stay queued). The API lists workers from their heartbeats in
    // Redis: this one is written by the workers' own module, as a GPU worker on Alice's job.
    const redis = connectRedis(stack.redisUrl, { name: 'access-test', role: 'requests' });
    const heartbeats = new WorkerHeartbeats(redis, new RedisKeys());
    const now = new Date().toISOString();
    const query = '{ workers { id host status ready currentJobId currentJob { id status } } }';
    try {
      await heartbeats.beat(
        {
          workerId: 'gpu-box-1',
          model: 'tiny-random',
          device: 'cuda',
          provider: 'cuda',
          modelReady: true,
          jobId: aliceJob,
          pid: 4242,
          hostname: 'gpu-box',
          startedAt: now,
          beatAt: now,
        },
        60_000,
      );
      const anonymous = await post(stack.graphqlUrl, query);
      expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
      expect(anonymous.body.data ?? null).toBeNull();

      const worker = {
        id: 'gpu-box-1',
        host: 'gpu-box',
        status: 'ONLINE',
        ready: true,
        currentJobId: aliceJob,
      };
      expect((await post(stack.graphqlUrl, query, {}, bearer(ALICE))).body).toEqual({
        data: { workers: [{ ...worker, currentJob: { id: aliceJob, status: 'QUEUED' } }] },
      });
      // Bob sees the worker, but neither Alice's job nor its id.
      expect((await post(stack.graphqlUrl, query, {}, bearer(BOB))).body).toEqual({
        data: { workers: [{ ...worker, currentJobId: null, currentJob: null }] },
      });
    } finally {
      // Offline at once, so that the later tests' queue estimates see no worker.
      await heartbeats.remove('gpu-box-1');
      await closeRedis(redis);
    }
  });

  it('limits submissions per key, one count for all three servers, saying when to retry', async () => {
    // Alice has used one of her three. One more to each of two servers directly, then a third.
    const [first, second, third] = Object.values(stack.apiAddresses).map((apiServer) => ({
      apiServer,
    }));
    const submit = (target: GraphQLTarget | undefined, key: string): Promise<Answer> =>
      post(target ?? '', SUBMIT, { input: { prompt: 'again' } }, bearer(key));
    expect((await submit(first, ALICE)).body.errors).toBeUndefined();
    expect((await submit(second, ALICE)).body.errors).toBeUndefined();
    const limited = await submit(third, ALICE);
    expect(limited.body.errors?.[0]).toEqual({
      message: expect.stringMatching(
        /^Too many submissions: at most 3 per minute\. Try again in \d+ seconds?\.$/,
      ) as unknown,
      path: ['submitPrompt'],
      locations: expect.any(Array) as unknown,
      extensions: {
        code: 'RATE_LIMITED',
        retryable: true,
        retryAfterSeconds: expect.any(Number) as unknown,
        limit: '3 per minute',
      },
    });
    const wait = limited.body.errors?.[0]?.extensions?.['retryAfterSeconds'] as number;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    // The limit is charged before the input is checked: invalid input is no way around it.
    // Bob has his own count.
    expect(
      codeOf(await post(stack.graphqlUrl, SUBMIT, { input: { prompt: '' } }, bearer(ALICE))),
    ).toBe('RATE_LIMITED');
    expect((await submit(stack.graphqlUrl, BOB)).body.errors).toBeUndefined();
  });

  it('turns introspection and the playground off, without leaking the schema in hints', async () => {
    const introspection = await post(stack.graphqlUrl, '{ __schema { types { name } } }');
    expect(codeOf(introspection)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(introspection.body.errors?.[0]?.message).toBe(
      'Introspection is turned off on this Zeus (ZEUS_INTROSPECTION).',
    );
    // The same over WebSocket (graphql-ws runs the same rules).
    const socket = rawWebSocket(stack.webSocketUrl);
    await socket.opened;
    socket.send({ type: 'connection_init' });
    await socket.next();
    socket.send({
      id: 'i',
      type: 'subscribe',
      payload: { query: '{ __type(name: "Job") { name } }' },
    });
    expect(await socket.next()).toMatchObject({
      type: 'error',
      payload: [{ message: 'Introspection is turned off on this Zeus (ZEUS_INTROSPECTION).' }],
    });
    socket.close();
    const typo = await post(stack.graphqlUrl, '{ sytem { model } }');
    expect(typo.body.errors?.[0]?.message).toBe('Cannot query field "sytem" on type "Query".');

    const page = await fetch(stack.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toMatch(/playground is turned off on this Zeus \(ZEUS_PLAYGROUND\)/);
  });

  it('answers CORS only for the configured origins, and checks WebSocket origins', async () => {
    const preflight = (origin: string): Promise<Response> =>
      fetch(stack.graphqlUrl, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const foreign = await preflight('https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const post_ = await post(
      stack.graphqlUrl,
      '{ system { model } }',
      {},
      { origin: 'https://evil.example' },
    );
    expect(post_.headers.get('access-control-allow-origin')).toBeNull();

    const fromApp = rawWebSocket(stack.webSocketUrl, { origin: ORIGIN });
    await fromApp.opened;
    fromApp.close();
    const fromElsewhere = rawWebSocket(stack.webSocketUrl, { origin: 'https://evil.example' });
    await expect(fromElsewhere.opened).rejects.toMatchObject({ status: 403 });
    await expect(fromElsewhere.opened).rejects.toBeInstanceOf(UpgradeRefused);
  });

  it('caps subscriptions per WebSocket', async () => {
    const socket = rawWebSocket(stack.webSocketUrl);
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { apiKey: ALICE } });
    expect(await socket.next()).toEqual({ type: 'connection_ack' });
    const query = `subscription { jobUpdated(id: "${aliceJob}") { status } }`;
    for (let i = 0; i < 100; i += 1) {
      socket.send({ id: String(i), type: 'subscribe', payload: { query } });
    }
    for (let i = 0; i < 100; i += 1) {
      expect(await socket.next()).toMatchObject({
        type: 'next',
        payload: { data: { jobUpdated: { status: 'QUEUED' } } },
      });
    }
    socket.send({ id: 'one-too-many', type: 'subscribe', payload: { query } });
    expect(await socket.next()).toEqual({
      id: 'one-too-many',
      type: 'error',
      payload: [
        {
          message:
            'Too many subscriptions on one WebSocket: at most 100. End some (or open another connection).',
          extensions: {
            code: 'TOO_MANY_SUBSCRIPTIONS',
            rule: 'maxSubscriptionsPerSocket',
            limit: 100,
          },
        },
      ],
    });
    socket.close();
  });
});
