/**
 * Who may fetch a job's outputs, on a real Redis: the link secret shared by every API server,
 * keys off and on, and the guard in front of the bucket's route. The whole path through Caddy
 * is tests/security/keyed-stack.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeRedis, connectRedis, RedisKeys, videoUrlFor, type Redis } from '@zeus/core';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { ApiKeyRing, parseApiKeys } from './auth.ts';
import { Callers } from './caller.ts';
import { OutputAccess, outputAccessGuard, outputAuthHandler } from './output-access.ts';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-fedcba9876543210';
const ALICES_JOB = '00000000-0000-4000-8000-00000000000a';
const keyRing = new ApiKeyRing(parseApiKeys(`alice:${ALICE},bob:${BOB}`));
const store = {
  // The jobs' owners, as the job store would read them.
  get: (jobId: string) =>
    Promise.resolve(jobId === ALICES_JOB ? ({ owner: 'alice' } as never) : null),
};

let redisServer: TestRedis;
let redis: Redis;
const servers: Server[] = [];

beforeAll(async () => {
  redisServer = await startTestRedis();
  redis = connectRedis(redisServer.url, { name: 'output-access-test', role: 'requests' });
});

afterAll(async () => {
  for (const server of servers) server.close();
  await closeRedis(redis);
  await redisServer.stop();
});

function access(apiKeys: ApiKeyRing, prefix = 'links'): OutputAccess {
  return new OutputAccess({ redis, keys: new RedisKeys(prefix), apiKeys, store });
}

async function serve(app: express.Express): Promise<string> {
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('output access', () => {
  it('signs on one server what every other server on the same Redis accepts', async () => {
    const [first, second] = [access(keyRing), access(keyRing)];
    const link = await first.link(videoUrlFor(ALICES_JOB));
    expect(link).toMatch(/\?exp=\d+&sig=/);
    expect(await second.link(videoUrlFor(ALICES_JOB))).toBe(link);
    const anyone = () => ({ ok: true as const, caller: { keyName: null, address: '::1' } });
    expect(await second.check(link ?? '', anyone)).toEqual({ ok: true });
    // Another Zeus on the same Redis (its own prefix) has its own secret.
    expect(await access(keyRing, 'other').check(link ?? '', anyone)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('gives bare paths and lets everyone in while keys are off', async () => {
    const open = access(new ApiKeyRing([]));
    expect(await open.link(videoUrlFor(ALICES_JOB))).toBe(videoUrlFor(ALICES_JOB));
    expect(await open.link(null)).toBeNull();
    const nobody = () => ({ ok: true as const, caller: { keyName: null, address: '::1' } });
    expect(await open.check(videoUrlFor(ALICES_JOB), nobody)).toEqual({ ok: true });
  });

  it('answers Caddy’s forward_auth and guards the bucket’s route alike', async () => {
    const guarded = access(keyRing);
    const callers = new Callers(keyRing, ['loopback'], { onSocket: false });
    const app = express();
    app.get('/output-auth', outputAuthHandler(guarded, callers));
    app.get('/generated/:jobId/:name', outputAccessGuard(guarded, callers), (_req, res) => {
      res.type('text/plain').send('the bytes');
    });
    const base = await serve(app);
    const path = videoUrlFor(ALICES_JOB);
    const link = (await guarded.link(path)) ?? '';

    const auth = (uri: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/output-auth`, { headers: { 'x-forwarded-uri': uri, ...headers } });
    expect((await auth(link)).status).toBe(204);
    expect((await auth(path)).status).toBe(401);
    expect((await auth(path, { 'x-api-key': ALICE })).status).toBe(204);
    expect((await auth(path, { 'x-api-key': BOB })).status).toBe(403);
    expect((await auth('/generated/not-a-job/out.mp4', { 'x-api-key': ALICE })).status).toBe(404);
    expect((await fetch(`${base}/output-auth`)).status).toBe(400);

    const direct = (uri: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${uri}`, { headers });
    const served = await direct(link);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('the bytes');
    const refused = await direct(path);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await refused.json()).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect((await direct(path, { authorization: `Bearer ${BOB}` })).status).toBe(403);
  });
});
