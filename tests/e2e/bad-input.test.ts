/**
 * Every kind of bad input, sent through Caddy to the real stack (Redis, three API servers,
 * Caddy), one row of a table each: the answer has the right HTTP status, a stable
 * `extensions.code` and a message that says what to fix; none leaks a stack trace or a path.
 * Afterwards nothing was queued or stored, and every process is still the one that started.
 * No worker: a job queued by mistake would stay in the queue for the final check to see.
 * Webhooks are on (so a webhookUrl is judged by its form); the few mistakes that need API keys
 * (a priority a key may not use) run on a second, smaller stack with keys, in
 * bad-input-keys.test.ts. The tables of bad input are tests/helpers/bad-prompt-inputs.ts and
 * bad-requests.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchVia } from '../../deploy/endpoints.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import type { SupervisorEvent } from '../../deploy/supervisor.ts';
import { badInputClient, check, type Answer } from '../helpers/bad-input.ts';
import { promptInputRows } from '../helpers/bad-prompt-inputs.ts';
import { badRequestRows } from '../helpers/bad-requests.ts';
import { SUBMIT } from '../helpers/graphql.ts';
import { rawWebSocket, UpgradeRefused, type RawWebSocket } from '../helpers/raw-websocket.ts';

let stack: LocalStack;
let dir: string;
const pidsAtStart = new Map<string, number | undefined>();
const processEvents: SupervisorEvent[] = [];
let stopWatching: () => void = () => undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-bad-input-'));
  stack = await startLocalStack({
    dataDir: join(dir, 'data'),
    generatedDir: join(dir, 'generated'),
    port: 0,
    workers: 0,
    env: {
      ZEUS_MODEL: 'tiny-random',
      ZEUS_LOG_LEVEL: 'warn',
      // Webhooks on, so that a webhookUrl is judged by its form rather than refused outright.
      ZEUS_WEBHOOK_SECRET: 'bad-input-webhook-secret',
    },
  });
  for (const name of stack.processNames) pidsAtStart.set(name, stack.pid(name));
  stopWatching = stack.onEvent((event) => processEvents.push(event));
});

afterAll(async () => {
  stopWatching();
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

const client = badInputClient(() => stack.url);
const { json, query } = client;
const inputRows = promptInputRows(client);
const requestRows = badRequestRows(client);

describe('bad input through Caddy: a clear error, nothing queued, nothing crashes', () => {
  it.each(inputRows)('PromptInput: %s', async (_name, request, expected) => {
    check(await request(), expected);
  });

  it.each(requestRows)('request: %s', async (_name, request, expected) => {
    check(await request(), expected);
  });

  it('answers a batch within the limit, each operation on its own', async () => {
    const answer = await json([
      { query: '{ system { model } }' },
      { query: '{ nope }' },
      { query: SUBMIT, variables: { input: { prompt: '' } } },
    ]);
    // Apollo answers a batch with the most severe status of its operations.
    expect(answer.status).toBe(400);
    const results = JSON.parse(answer.text) as {
      data?: unknown;
      errors?: { extensions: { code: string } }[];
    }[];
    expect(results.map((result) => result.errors?.[0]?.extensions.code ?? 'ok')).toEqual([
      'ok',
      'GRAPHQL_VALIDATION_FAILED',
      'BAD_USER_INPUT',
    ]);
  });

  it.each([
    '/generated/../../../../etc/passwd',
    '/generated/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/generated/..%2f..%2f..%2fetc%2fpasswd',
    '/generated/%252e%252e/%252e%252e/etc/passwd',
    '/generated/00000000-0000-4000-8000-000000000000/../../package.json',
    '/generated/..\\..\\package.json',
    '/generated/.hidden',
  ])('serves nothing outside generated/ for %s', async (path) => {
    // fetch would normalise the dots away: send the path exactly as written.
    const { request } = await import('node:http');
    const url = new URL(stack.url);
    const answer = await new Promise<Answer>((resolve, reject) => {
      const outgoing = request(
        { host: url.hostname, port: url.port, path, method: 'GET' },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => {
            resolve({ status: response.statusCode ?? 0, text });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
    // Caddy cleans the path first: what climbs out of /generated/ lands on the web app, whose
    // unknown paths get its index page. Either way no file outside the served folders.
    if (answer.status === 200) expect(answer.text).toMatch(/^<!doctype html>/i);
    else expect(answer.status).toBe(404);
    expect(answer.text).not.toMatch(/root:|"workspaces"|\[extensions\]/);
  });
});

describe('WebSocket messages that break the protocol', () => {
  const url = (): string => stack.webSocketUrl;
  const opened = async (socket: RawWebSocket): Promise<RawWebSocket> => {
    await socket.opened;
    return socket;
  };
  const acknowledged = async (params?: Record<string, unknown>): Promise<RawWebSocket> => {
    const socket = await opened(rawWebSocket(url()));
    socket.send({ type: 'connection_init', ...(params === undefined ? {} : { payload: params }) });
    expect(await socket.next()).toEqual({ type: 'connection_ack' });
    return socket;
  };

  it('closes on a message that is not JSON (4400)', async () => {
    const socket = await opened(rawWebSocket(url()));
    socket.send('this is not json');
    expect(await socket.closed).toMatchObject({ code: 4400 });
  });

  it('closes on an unknown message type (4400)', async () => {
    const socket = await acknowledged();
    socket.send({ type: 'launch_missiles' });
    expect(await socket.closed).toMatchObject({ code: 4400 });
  });

  it('closes on a subscribe before connection_init (4401)', async () => {
    const socket = await opened(rawWebSocket(url()));
    socket.send({ id: '1', type: 'subscribe', payload: { query: '{ system { model } }' } });
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('closes on a second connection_init (4429)', async () => {
    const socket = await acknowledged();
    socket.send({ type: 'connection_init' });
    expect(await socket.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('closes a connection that never says connection_init (4408)', async () => {
    const socket = await opened(rawWebSocket(url()));
    expect(await socket.closed).toEqual({
      code: 4408,
      reason: 'Connection initialisation timeout',
    });
  });

  it('closes on a reused subscription id (4409)', async () => {
    const socket = await acknowledged();
    const subscription = {
      type: 'subscribe',
      payload: {
        query: 'subscription { jobUpdated(id: "00000000-0000-4000-8000-000000000001") { id } }',
      },
    };
    // A subscription that stays open needs a job: a ping-pong query does not; reuse the id fast.
    socket.send({ id: 'same', ...subscription });
    socket.send({ id: 'same', ...subscription });
    const outcome = await Promise.race([socket.closed, socket.next()]);
    if ('type' in outcome) {
      // The first ended (unknown job) before the second arrived: nothing to reuse.
      expect(outcome).toMatchObject({ type: 'next', id: 'same' });
      expect(JSON.stringify(outcome)).toMatch(/"code":"NOT_FOUND"/);
    } else {
      expect(outcome).toMatchObject({ code: 4409 });
    }
    socket.close();
  });

  it('closes on a message over 64 KiB (1009)', async () => {
    const socket = await acknowledged();
    socket.send({
      id: '1',
      type: 'subscribe',
      payload: { query: `{ system { model } } # ${'x'.repeat(70_000)}` },
    });
    expect(await socket.closed).toMatchObject({ code: 1009 });
  });

  it('refuses a client without the graphql-ws subprotocol', async () => {
    const socket = rawWebSocket(url(), { protocol: null });
    await socket.opened;
    expect(await socket.closed).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
  });

  it('answers bad operations with an error message and keeps the connection', async () => {
    const socket = await acknowledged();
    socket.send({ id: 'a', type: 'subscribe', payload: { query: '{ system { model' } });
    expect(await socket.next()).toMatchObject({
      id: 'a',
      type: 'error',
      payload: [{ message: expect.stringMatching(/^Syntax Error/) as unknown }],
    });
    const aliases = Array.from({ length: 20 }, (_, i) => `s${i}: system { model }`).join(' ');
    socket.send({ id: 'b', type: 'subscribe', payload: { query: `{ ${aliases} }` } });
    expect(await socket.next()).toMatchObject({
      id: 'b',
      type: 'error',
      payload: [{ extensions: { code: 'QUERY_TOO_COMPLEX', rule: 'maxAliases' } }],
    });
    socket.send({
      id: 'c',
      type: 'subscribe',
      payload: { query: 'subscription { jobUpdated(id: "not-a-job") { id } }' },
    });
    expect(await socket.next()).toMatchObject({
      id: 'c',
      type: 'next',
      payload: { errors: [{ extensions: { code: 'BAD_USER_INPUT', field: 'id', rule: 'jobId' } }] },
    });
    expect(await socket.next()).toEqual({ id: 'c', type: 'complete' });
    socket.send({
      id: 'd',
      type: 'subscribe',
      payload: { query: SUBMIT, variables: { input: { prompt: 'x\u001b[31m' } } },
    });
    const invalid = await socket.next();
    expect(JSON.stringify(invalid)).toMatch(/"code":"BAD_USER_INPUT"/);
    expect(JSON.stringify(invalid)).toMatch(/found U\+001B at position 1/);
    expect(await socket.next()).toEqual({ id: 'd', type: 'complete' });
    // Still connected and answering.
    socket.send({ id: 'e', type: 'subscribe', payload: { query: '{ system { model } }' } });
    expect(await socket.next()).toEqual({
      id: 'e',
      type: 'next',
      payload: { data: { system: { model: 'tiny-random' } } },
    });
    socket.close();
  });

  it('refuses other paths and foreign origins before upgrading', async () => {
    const wrongPath = rawWebSocket(stack.webSocketUrl.replace('/graphql', '/ws'));
    await expect(wrongPath.opened).rejects.toBeInstanceOf(UpgradeRefused);
    const foreign = rawWebSocket(url(), { origin: 'https://evil.example' });
    const refused = await foreign.opened.then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).status).toBe(403);
    expect(JSON.parse((refused as UpgradeRefused).body)).toMatchObject({
      errors: [{ extensions: { code: 'FORBIDDEN' } }],
    });
    // The page's own origin is fine.
    const own = rawWebSocket(url(), { origin: stack.url });
    await own.opened;
    own.close();
  });
});

describe('after all of it', () => {
  it('queued and stored nothing, and every process is the one that started', async () => {
    const answer = await query('{ system { queueLength running } jobs(first: 1) { totalCount } }');
    expect(JSON.parse(answer.text)).toEqual({
      data: { system: { queueLength: 0, running: 0 }, jobs: { totalCount: 0 } },
    });
    for (const name of stack.processNames) expect(stack.pid(name)).toBe(pidsAtStart.get(name));
    expect(processEvents).toEqual([]);
  });

  it('counted them in each server’s metrics, which Caddy does not serve', async () => {
    const scraped = await Promise.all(
      Object.values(stack.apiAddresses).map(async (address) =>
        (await fetchVia(address, '/metrics')).text(),
      ),
    );
    const total = (pattern: RegExp): number =>
      scraped
        .flatMap((text) => text.split('\n'))
        .filter((line) => pattern.test(line))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(total(/^zeus_api_errors_total\{code="BAD_USER_INPUT"\}/)).toBeGreaterThanOrEqual(
      inputRows.length,
    );
    expect(total(/^zeus_api_errors_total\{code="QUERY_TOO_COMPLEX"\}/)).toBeGreaterThanOrEqual(5);
    expect(total(/^zeus_http_requests_total\{method="POST",route="\/graphql",status="415"\}/)).toBe(
      4,
    );
    expect(scraped[0]).toMatch(/^zeus_jobs\{state="queued"\} 0$/m);
    expect(scraped[0]).toMatch(/^zeus_workers_online\{state="online"\} 0$/m);
    expect(scraped[0]).toMatch(/^zeus_http_request_duration_seconds_bucket\{/m);
    expect(scraped[0]).toMatch(/^process_resident_memory_bytes /m);
    // Through the front door, /metrics is the web app's page, not the figures.
    const front = await fetch(`${stack.url}/metrics`);
    expect(await front.text()).not.toMatch(/zeus_/);
  });
});
