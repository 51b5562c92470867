/**
 * Two real API server processes (started as the local stack starts them) on one real Redis:
 * what one server accepts, the other relays; queue bounds and errors as API users see them;
 * graceful shutdown. The test process plays the worker through the job store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis, JobStore, modelRules, RedisKeys, type Redis } from '@zeus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { Supervisor } from '../../deploy/supervisor.ts';
import {
  graphqlRequest,
  SUBMIT,
  watchJob,
  webSocketClient,
  type JobResult,
  type WebSocketClient,
} from '../../tests/helpers/graphql.ts';
import { listeningPort } from '../../tests/helpers/listening.ts';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';

const MAX_QUEUED = 3;
const DRAIN_DELAY_MS = 1_000;

let redisServer: TestRedis;
let dir: string;
let supervisor: Supervisor;
let redis: Redis;
let store: JobStore;
const urls: Record<'a' | 'b', string> = { a: '', b: '' };
const sockets: WebSocketClient[] = [];

beforeAll(async () => {
  redisServer = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'zeus-api-test-'));
  supervisor = new Supervisor({ logDir: dir, stopGraceMs: 10_000 });
  for (const name of ['a', 'b'] as const) {
    await supervisor.start({
      name: `api-${name}`,
      command: process.execPath,
      args: ['--import', 'tsx', 'server/src/main.ts'],
      env: {
        ...process.env,
        REDIS_URL: redisServer.url,
        ZEUS_API_HOST: '127.0.0.1',
        // Any free port, read back from its "listening" line.
        ZEUS_API_PORT: '0',
        ZEUS_MODEL: 'tiny-random',
        ZEUS_MAX_QUEUED: String(MAX_QUEUED),
        ZEUS_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
        // Info, for the "listening" line this test waits for.
        ZEUS_LOG_LEVEL: 'info',
      },
      cwd: REPOSITORY_ROOT,
      ipc: true,
    });
  }
  for (const name of ['a', 'b'] as const) {
    urls[name] = `127.0.0.1:${await listeningPort(supervisor, `api-${name}`, 20_000)}`;
  }
  redis = connectRedis(redisServer.url, { name: 'test', role: 'requests' });
  store = new JobStore(redis, new RedisKeys('zeus'), { maxQueued: MAX_QUEUED });
}, 60_000);

afterEach(async () => {
  const open = sockets.splice(0);
  for (const socket of open) void socket.client.dispose();
  await Promise.all(open.map((socket) => socket.closed));
  // Each test starts with an empty queue.
  for (const id of await store.queuedIds()) await store.update(id, { type: 'cancel' });
});

afterAll(async () => {
  // Each part may be missing when beforeAll failed half-way.
  const maybe = { redis, supervisor, redisServer } as Partial<{
    redis: Redis;
    supervisor: Supervisor;
    redisServer: TestRedis;
  }>;
  if (maybe.redis !== undefined) await closeRedis(maybe.redis);
  await maybe.supervisor?.stop();
  await maybe.redisServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

const graphql = (server: 'a' | 'b'): string => `http://${urls[server]}/graphql`;

function connect(server: 'a' | 'b'): WebSocketClient {
  const socket = webSocketClient(`ws://${urls[server]}/graphql`);
  sockets.push(socket);
  return socket;
}

async function submit(server: 'a' | 'b', prompt = 'a quiet lake'): Promise<JobResult> {
  const response = await graphqlRequest<{ submitPrompt: JobResult }>(graphql(server), SUBMIT, {
    input: { prompt, width: 64, height: 64, numFrames: 9 },
  });
  const job = response.data?.submitPrompt;
  if (job == null) throw new Error(`submit failed: ${JSON.stringify(response.errors)}`);
  return job;
}

describe('API servers on one Redis', () => {
  it('relays a job submitted on one server to a subscriber on the other, to the end', async () => {
    const job = await submit('b');
    const watched = watchJob(connect('a').client, job.id);
    expect(await watched.subscribed).toMatchObject({ status: 'QUEUED', queuePosition: 1 });

    // The worker's part, through the job store.
    await store.update(job.id, { type: 'start', workerId: 'test-worker', totalSteps: 8 });
    for (let step = 1; step <= 8; step += 1) {
      await store.update(job.id, { type: 'progress', attempt: 1, stage: 'DENOISING', step });
    }
    await store.update(job.id, {
      type: 'succeed',
      attempt: 1,
      videoUrl: `/generated/${job.id}/out.mp4`,
    });

    const updates = await watched.completed;
    expect(updates.map((update) => `${update.status}:${update.stage}:${update.step}`)).toEqual([
      'QUEUED:QUEUED:0',
      'RUNNING:LOADING_MODEL:0',
      ...Array.from({ length: 8 }, (_, i) => `RUNNING:DENOISING:${i + 1}`),
      'SUCCEEDED:DONE:8',
    ]);
    expect(updates.at(-1)?.videoUrl).toBe(`/generated/${job.id}/out.mp4`);

    const fetched = await graphqlRequest<{ job: JobResult }>(
      graphql('b'),
      `{ job(id: "${job.id}") { status attempts videoUrl } }`,
    );
    expect(fetched.data?.job).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('shows a queued job moving up, whichever server its subscriber is on', async () => {
    const first = await submit('a', 'first');
    const second = await submit('b', 'second');
    const positions: (number | null)[] = [];
    let movedUp!: () => void;
    const firstInLine = new Promise<void>((resolve) => {
      movedUp = resolve;
    });
    const watched = watchJob(connect('a').client, second.id, (update) => {
      positions.push(update.queuePosition);
      if (update.queuePosition === 1) movedUp();
    });
    await watched.subscribed;
    await store.update(first.id, { type: 'start', workerId: 'test-worker', totalSteps: 8 });
    await firstInLine;
    await store.update(second.id, { type: 'cancel' });
    const updates = await watched.completed;
    expect(positions).toEqual([2, 1, null]);
    expect(updates.at(-1)?.status).toBe('CANCELLED');
    await store.update(first.id, { type: 'cancel' });
  });

  it('refuses a submission beyond ZEUS_MAX_QUEUED with QUEUE_FULL, storing nothing', async () => {
    for (let i = 0; i < MAX_QUEUED; i += 1) await submit(i % 2 === 0 ? 'a' : 'b');
    const before = (await store.list({ first: 1 })).totalCount;
    const response = await graphqlRequest(graphql('a'), SUBMIT, { input: { prompt: 'one more' } });
    expect(response.data).toBeNull();
    expect(response.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/queue is full/) as unknown,
      extensions: { code: 'QUEUE_FULL', maxQueued: MAX_QUEUED, retryable: true },
    });
    expect((await store.list({ first: 1 })).totalCount).toBe(before);

    const system = await graphqlRequest<{ system: Record<string, unknown> }>(
      graphql('b'),
      '{ system { queueLength maxQueued running workersOnline modelReady model } }',
    );
    expect(system.data?.system).toEqual({
      queueLength: MAX_QUEUED,
      maxQueued: MAX_QUEUED,
      running: 0,
      workersOnline: 0,
      modelReady: false,
      model: 'tiny-random',
    });
  });

  it('answers errors with stable codes and no internals', async () => {
    const badPage = await graphqlRequest(graphql('a'), '{ jobs(first: 0) { totalCount } }');
    expect(badPage.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
      rule: 'range',
    });
    const badCursor = await graphqlRequest(graphql('a'), '{ jobs(after: "x") { totalCount } }');
    expect(badCursor.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
    const syntax = await graphqlRequest(graphql('a'), '{ jobs( }');
    expect(syntax.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED' });
    const wrongType = await graphqlRequest(graphql('a'), SUBMIT, { input: { prompt: 5 } });
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });

    // Requests that are not even JSON get the same shape, without Express's stack trace.
    const notJson = await fetch(graphql('a'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({
      errors: [
        {
          message: expect.stringMatching(
            /^The request body is not valid JSON \(.+\)\. Send/,
          ) as unknown,
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
    const tooLarge = await fetch(graphql('a'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ system { model } } # ${'x'.repeat(100_000)}` }),
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual({
      errors: [
        {
          message: 'The request is too large: at most 65536 bytes. Send a shorter prompt or query.',
          extensions: { code: 'PAYLOAD_TOO_LARGE' },
        },
      ],
    });

    // Over WebSocket too: subscribing to an unknown job is NOT_FOUND.
    const socket = connect('b');
    const unknown = await new Promise<unknown>((resolve) => {
      socket.client.subscribe(
        {
          query: 'subscription { jobUpdated(id: "00000000-0000-4000-8000-000000000000") { id } }',
        },
        { next: resolve, error: resolve, complete: () => undefined },
      );
    });
    expect(unknown).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    for (const response of [badPage, badCursor, syntax, wrongType, unknown]) {
      expect(JSON.stringify(response)).not.toMatch(/stacktrace|node_modules|\.ts:\d+/);
    }
  });

  it('tells the model rules, with the defaults a job gets', async () => {
    const response = await graphqlRequest<{ modelRules: Record<string, unknown> }>(
      graphql('a'),
      `{ modelRules { model defaults { negativePrompt width height numFrames frameRate }
         sizeMultiple width { min max } frameStep numFrames { min max } frameRate { min max }
         seed { min max } maxPromptTokens maxPromptChars maxLatentTokens steps
         ignoredSettings sizePresets { aspect width height } } }`,
    );
    expect(response.data?.modelRules).toEqual({
      model: 'tiny-random',
      defaults: {
        negativePrompt: 'worst quality, inconsistent motion, blurry, jittery, distorted',
        width: 768,
        height: 512,
        numFrames: 121,
        frameRate: 25,
      },
      sizeMultiple: 32,
      width: { min: 64, max: 1280 },
      frameStep: 8,
      numFrames: { min: 9, max: 257 },
      frameRate: { min: 1, max: 60 },
      seed: { min: 0, max: 2_147_483_647 },
      maxPromptTokens: 256,
      maxPromptChars: 1024,
      maxLatentTokens: 16_384,
      steps: 8,
      // The distilled model runs without guidance: a negative prompt cannot change the video.
      ignoredSettings: ['negativePrompt'],
      sizePresets: modelRules('tiny-random').sizePresets,
    });
    expect(response.data?.modelRules['sizePresets']).toContainEqual({
      aspect: '16:9',
      width: 864,
      height: 480,
    });
  });

  it('searches the history by prompt, and refuses a search over 200 characters', async () => {
    const heron = await submit('a', 'A grey HERON in reeds');
    await submit('b', 'a quiet lake at noon');
    const search = (text: string) =>
      graphqlRequest<{ jobs: { edges: { node: { id: string } }[]; pageInfo: unknown } }>(
        graphql('b'),
        'query ($search: String) { jobs(first: 5, search: $search) { edges { node { id } } pageInfo { hasNextPage } } }',
        { search: text },
      );
    expect((await search('heron reeds')).data?.jobs).toEqual({
      edges: [{ node: { id: heron.id } }],
      pageInfo: { hasNextPage: false },
    });
    const tooLong = await search('x'.repeat(201));
    expect(tooLong.errors?.[0]).toMatchObject({
      message: 'search must be at most 200 characters (got 201).',
      extensions: { code: 'BAD_USER_INPUT', field: 'search', rule: 'maxLength' },
    });
  });

  it('shuts down gracefully: unhealthy first, then WebSockets closed with 1012', async () => {
    expect(await (await fetch(`http://${urls.a}/healthz`)).json()).toEqual({
      status: 'ok',
      problems: [],
    });
    const socket = connect('a');
    await socket.connected;
    const restarted = supervisor.nextEvent(
      (event) => event.type === 'spawned' && event.name === 'api-a',
      30_000,
    );
    const shuttingDown = supervisor.waitForOutput('api-a', /shutting down/, 10_000);
    supervisor.kill('api-a', 'SIGTERM');
    await shuttingDown;
    // During the drain delay the server still answers, but says it is going away.
    const health = await fetch(`http://${urls.a}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'unavailable', problems: ['shutting down'] });
    expect(await socket.closed).toEqual({ code: 1012, reason: 'Server restarting' });
    await restarted;
    await supervisor.waitForOutput('api-a', /listening/, 20_000);
  });
});
