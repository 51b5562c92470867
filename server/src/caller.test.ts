/**
 * Who is asking, read from real requests to a real `node:http` server on loopback: the address
 * believed only from trusted proxies, the key from headers or connection parameters.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyRing, INVALID_KEY_MESSAGE, parseApiKeys } from './auth.ts';
import { Callers, type CallerCheck } from './caller.ts';

const ALICE_KEY = 'alice-0123456789abcdef';
const keys = new ApiKeyRing(parseApiKeys(`alice:${ALICE_KEY}`));

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
    const trusting = new Callers(keys, ['loopback']);
    const distrusting = new Callers(keys, ['10.0.0.0/8']);
    const forwarded = { 'x-forwarded-for': '203.0.113.7' };
    expect(await ask((request) => trusting.address(request), forwarded)).toBe('203.0.113.7');
    expect(await ask((request) => distrusting.address(request), forwarded)).toBe('127.0.0.1');
    expect(await ask((request) => trusting.address(request))).toBe('127.0.0.1');
  });

  it('names the key of an HTTP request, and refuses one that is not ours', async () => {
    const callers = new Callers(keys, ['loopback']);
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
    const callers = new Callers(keys, ['loopback']);
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
    const callers = new Callers(new ApiKeyRing([]), ['loopback']);
    expect(
      await ask((request) => callers.ofHttpRequest(request), {
        'x-api-key': 'anything-at-all-1234',
      }),
    ).toEqual({ ok: true, caller: { keyName: null, address: '127.0.0.1' } });
  });
});
