/**
 * Who is asking, read from real requests to a real `node:http` server on loopback: the address
 * believed only from trusted proxies, the key from headers or connection parameters.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyRing, INVALID_KEY_MESSAGE, parseApiKeys } from './auth.ts';
import { Callers, type CallerCheck } from './caller.ts';

const ALICE_KEY = 'alice-0123456789abcdef';
const keys = new ApiKeyRing(parseApiKeys(`alice:${ALICE_KEY}`));
const TCP = { onSocket: false };

let server: Server;
let url: string;
/** What the server read of the last request, by the settings under test. */
let read: (request: IncomingMessage) => unknown = () => null;

beforeAll(async () => {
  server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(read(request)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function ask<T>(
  reader: (request: IncomingMessage) => T,
  headers: Record<string, string> = {},
): Promise<T> {
  read = reader;
  const response = await fetch(url, { headers });
  return (await response.json()) as T;
}

describe('Callers', () => {
  it('believes X-Forwarded-For from a trusted proxy only', async () => {
    const trusting = new Callers(keys, ['loopback'], TCP);
    const distrusting = new Callers(keys, ['10.0.0.0/8'], TCP);
    const forwarded = { 'x-forwarded-for': '203.0.113.7' };
    expect(await ask((request) => trusting.address(request), forwarded)).toBe('203.0.113.7');
    expect(await ask((request) => distrusting.address(request), forwarded)).toBe('127.0.0.1');
    expect(await ask((request) => trusting.address(request))).toBe('127.0.0.1');
  });

  it('names the key of an HTTP request, and refuses one that is not ours', async () => {
    const callers = new Callers(keys, ['loopback'], TCP);
    const check = (request: IncomingMessage): CallerCheck => callers.ofHttpRequest(request);
    expect(await ask(check, { authorization: `Bearer ${ALICE_KEY}` })).toEqual({
      ok: true,
      caller: { keyName: 'alice', address: '127.0.0.1' },
    });
    expect(await ask(check, { 'x-api-key': ALICE_KEY, 'x-forwarded-for': '198.51.100.2' })).toEqual(
      { ok: true, caller: { keyName: 'alice', address: '198.51.100.2' } },
    );
    expect(await ask(check)).toEqual({
      ok: true,
      caller: { keyName: null, address: '127.0.0.1' },
    });
    expect(await ask(check, { 'x-api-key': 'mallory-0123456789abcdef' })).toEqual({
      ok: false,
      message: INVALID_KEY_MESSAGE,
    });
  });

  it("takes a WebSocket's key from connection_init before the upgrade's headers", async () => {
    const callers = new Callers(keys, ['loopback'], TCP);
    const headers = { authorization: 'Bearer mallory-0123456789abcdef' };
    expect(
      await ask((request) => callers.ofWebSocket({ apiKey: ALICE_KEY }, request), headers),
    ).toEqual({ ok: true, caller: { keyName: 'alice', address: '127.0.0.1' } });
    expect(await ask((request) => callers.ofWebSocket(undefined, request), headers)).toEqual({
      ok: false,
      message: INVALID_KEY_MESSAGE,
    });
  });

  it('ignores any key while no keys are configured', async () => {
    const callers = new Callers(new ApiKeyRing([]), ['loopback'], TCP);
    expect(
      await ask((request) => callers.ofHttpRequest(request), {
        'x-api-key': 'anything-at-all-1234',
      }),
    ).toEqual({ ok: true, caller: { keyName: null, address: '127.0.0.1' } });
  });

  it('on a Unix socket, believes X-Forwarded-For from its peer, and knows no address without', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-callers-'));
    const socketPath = join(dir, 'api.sock');
    const callers = new Callers(keys, ['10.0.0.0/8'], { onSocket: true });
    const socketServer = createServer((request, response) => {
      response.end(callers.address(request));
    });
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
    const askSocket = (headers: Record<string, string>): Promise<string> =>
      new Promise((resolve, reject) => {
        httpRequest({ socketPath, path: '/', headers }, (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => {
            resolve(body);
          });
        })
          .on('error', reject)
          .end();
      });
    try {
      expect(await askSocket({ 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
      expect(await askSocket({})).toBe('unknown');
    } finally {
      await new Promise((resolve) => socketServer.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
