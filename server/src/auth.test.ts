import { describe, expect, it } from 'vitest';
import {
  ApiKeyRing,
  checkKey,
  INVALID_KEY_MESSAGE,
  keyFromConnectionParams,
  keyFromHeaders,
  parseApiKeys,
  rateLimitKey,
  sha256,
} from './auth.ts';
import { isAllowedWebSocketOrigin, parseAllowedOrigins } from './origins.ts';

const ALICE_KEY = 'alice-0123456789abcdef';
const BOB_KEY = 'bob-fedcba9876543210';

describe('parseApiKeys', () => {
  it('reads name:key pairs and keeps only digests', () => {
    const keys = parseApiKeys(` alice:${ALICE_KEY} , bob:${BOB_KEY},`);
    expect(keys.map((key) => key.name)).toEqual(['alice', 'bob']);
    expect(keys[0]?.digest).toEqual(sha256(ALICE_KEY));
    expect(JSON.stringify(keys)).not.toContain(ALICE_KEY);
  });

  it('takes a SHA-256 digest instead of the key', () => {
    const digest = sha256(ALICE_KEY).toString('hex');
    const [key] = parseApiKeys(`alice:sha256:${digest.toUpperCase()}`);
    expect(new ApiKeyRing([key!]).nameOf(ALICE_KEY)).toBe('alice');
  });

  it('reports every problem at once, never echoing a key', () => {
    const problems = (() => {
      try {
        parseApiKeys(
          `nokey, bad name:${ALICE_KEY}, carol:short, dave:${BOB_KEY}, dave:${ALICE_KEY}x, erin:${BOB_KEY}`,
        );
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(problems.split('; ')).toEqual([
      'entry 1 must be name:key',
      'entry 2: the name must be 1 to 64 letters, digits, ".", "_" or "-"',
      'entry 3 (carol): the key must be 16 to 256 letters, digits or "-._~+/=", or sha256:<64 hex digits>',
      'the name dave is given more than once',
      'the same key is given twice',
    ]);
    expect(problems).not.toContain(BOB_KEY);
    expect(() => parseApiKeys(' , ')).toThrow(/no keys given/);
  });
});

describe('ApiKeyRing and checkKey', () => {
  const ring = new ApiKeyRing(parseApiKeys(`alice:${ALICE_KEY},bob:${BOB_KEY}`));

  it('names the key, or refuses an unknown one', () => {
    expect(ring.enabled).toBe(true);
    expect(ring.nameOf(ALICE_KEY)).toBe('alice');
    expect(ring.nameOf(BOB_KEY)).toBe('bob');
    expect(ring.nameOf(`${ALICE_KEY}x`)).toBeNull();
    expect(checkKey(ring, BOB_KEY)).toEqual({ ok: true, keyName: 'bob' });
    expect(checkKey(ring, 'wrong-key-wrong-key')).toEqual({
      ok: false,
      message: INVALID_KEY_MESSAGE,
    });
    // No key: the operation decides whether it needs one.
    expect(checkKey(ring, undefined)).toEqual({ ok: true, keyName: null });
  });

  it('ignores keys when none are configured', () => {
    const off = new ApiKeyRing([]);
    expect(off.enabled).toBe(false);
    expect(checkKey(off, ALICE_KEY)).toEqual({ ok: true, keyName: null });
  });
});

describe('where keys come from', () => {
  it('reads Authorization: Bearer, then X-Api-Key', () => {
    expect(keyFromHeaders({ authorization: `Bearer ${ALICE_KEY}` })).toBe(ALICE_KEY);
    expect(keyFromHeaders({ authorization: `bearer   ${ALICE_KEY} ` })).toBe(ALICE_KEY);
    expect(keyFromHeaders({ 'x-api-key': BOB_KEY })).toBe(BOB_KEY);
    expect(keyFromHeaders({ authorization: 'Basic abc', 'x-api-key': BOB_KEY })).toBe(BOB_KEY);
    expect(keyFromHeaders({ authorization: 'Basic abc' })).toBeUndefined();
    expect(keyFromHeaders({ 'x-api-key': ['first-one', 'second'] })).toBe('first-one');
    expect(keyFromHeaders({})).toBeUndefined();
  });

  it("reads a WebSocket's connection parameters", () => {
    expect(keyFromConnectionParams({ apiKey: ALICE_KEY })).toBe(ALICE_KEY);
    expect(keyFromConnectionParams({ Authorization: `Bearer ${BOB_KEY}` })).toBe(BOB_KEY);
    expect(keyFromConnectionParams({ 'X-Api-Key': BOB_KEY })).toBe(BOB_KEY);
    expect(keyFromConnectionParams({ apiKey: 42 })).toBeUndefined();
    expect(keyFromConnectionParams(undefined)).toBeUndefined();
    expect(keyFromConnectionParams('key')).toBeUndefined();
  });

  it('counts rate limits per key, else per address', () => {
    expect(rateLimitKey({ keyName: 'alice', address: '10.0.0.1' })).toBe('key:alice');
    expect(rateLimitKey({ keyName: null, address: '10.0.0.1' })).toBe('ip:10.0.0.1');
  });

  it('counts an IPv6 client by its /64, which one subscriber holds whole', () => {
    const of = (address: string): string => rateLimitKey({ keyName: null, address });
    expect(of('2001:db8:1:2:aaaa::1')).toBe('ip:2001:db8:1:2::/64');
    expect(of('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('ip:2001:db8:1:2::/64');
    expect(of('2001:0db8:0001:0003::1')).toBe('ip:2001:db8:1:3::/64');
    // IPv4 as IPv6 (a dual-stack socket) is the IPv4 client.
    expect(of('::ffff:198.51.100.7')).toBe('ip:198.51.100.7');
    expect(of('::1')).toBe('ip:::/64');
    expect(of('unknown')).toBe('ip:unknown');
  });
});

describe('origins', () => {
  it('reads ZEUS_ALLOWED_ORIGINS', () => {
    expect(parseAllowedOrigins('https://app.example.com, http://localhost:5173')).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(parseAllowedOrigins('')).toEqual([]);
    expect(() => parseAllowedOrigins('app.example.com')).toThrow(/not an origin/);
    expect(() => parseAllowedOrigins('https://app.example.com/')).toThrow(/no path/);
    expect(() => parseAllowedOrigins('ftp://files.example.com')).toThrow(/not an origin/);
  });

  it('lets WebSockets in from the same origin, configured origins and non-browsers', () => {
    const allowed = ['https://app.example.com'];
    expect(isAllowedWebSocketOrigin(undefined, 'zeus.local:8080', allowed)).toBe(true);
    expect(isAllowedWebSocketOrigin('http://zeus.local:8080', 'zeus.local:8080', allowed)).toBe(
      true,
    );
    expect(isAllowedWebSocketOrigin('https://ZEUS.example', 'zeus.example:443', [])).toBe(true);
    expect(isAllowedWebSocketOrigin('https://app.example.com', 'zeus.local', allowed)).toBe(true);
    expect(isAllowedWebSocketOrigin('https://evil.example', 'zeus.local', allowed)).toBe(false);
    expect(isAllowedWebSocketOrigin('http://zeus.local:9999', 'zeus.local:8080', [])).toBe(false);
    expect(isAllowedWebSocketOrigin('null', 'zeus.local', [])).toBe(false);
    expect(isAllowedWebSocketOrigin('file://', 'zeus.local', [])).toBe(false);
    expect(isAllowedWebSocketOrigin('http://zeus.local', undefined, [])).toBe(false);
  });
});
