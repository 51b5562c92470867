/**
 * A priority above what a key may use, sent through Caddy: only wrong with API keys on, so on a
 * stack of its own (the rest of the bad input is tests/e2e/bad-input.test.ts). The answer has
 * the right status, a stable `extensions.code` and a message that says what to fix, and nothing
 * is queued.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { check, type Answer, type Row } from '../helpers/bad-input.ts';
import { SUBMIT } from '../helpers/graphql.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-bad-input-keys-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A priority above what a key may use is only wrong with API keys on, so it gets a stack of its
 * own (one API server behind Caddy): bob is allowed nothing above 0, alice up to 3.
 */
describe('priorities not allowed to a key (API keys on)', () => {
  const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789ab' } as const;
  let keyed: LocalStack;

  beforeAll(async () => {
    keyed = await startLocalStack({
      dataDir: join(dir, 'keyed-data'),
      generatedDir: join(dir, 'keyed-generated'),
      port: 0,
      workers: 0,
      apiServers: 1,
      env: {
        ZEUS_MODEL: 'tiny-random',
        ZEUS_LOG_LEVEL: 'warn',
        ZEUS_API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
        ZEUS_KEY_PRIORITIES: 'alice:3',
      },
    });
  });

  afterAll(async () => {
    await keyed.stop();
  });

  const submitAs = async (key: keyof typeof KEYS, input: unknown): Promise<Answer> => {
    const response = await fetch(keyed.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS[key]}` },
      body: JSON.stringify({ query: SUBMIT, variables: { input } }),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, text: await response.text() };
  };

  it.each<Row>([
    [
      'a key not listed, raising its priority',
      () => submitAs('bob', { prompt: 'a fox', priority: 1 }),
      {
        status: 200,
        code: 'FORBIDDEN',
        message:
          /^This API key may not raise a job's priority above 0 \(asked for 1\); the operator can allow it in ZEUS_KEY_PRIORITIES\.$/,
        extensions: { field: 'priority', maxPriority: 0 },
      },
    ],
    [
      'a listed key, above its maximum',
      () => submitAs('alice', { prompt: 'a fox', priority: 4 }),
      {
        status: 200,
        code: 'FORBIDDEN',
        message: /^This API key may use priorities up to 3 \(asked for 4\)\.$/,
        extensions: { field: 'priority', maxPriority: 3 },
      },
    ],
  ])('priority: %s', async (_name, request, expected) => {
    check(await request(), expected);
  });

  it('queued nothing', async () => {
    const response = await fetch(keyed.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.alice}` },
      body: JSON.stringify({ query: '{ system { queueLength running } }' }),
    });
    expect(await response.json()).toEqual({ data: { system: { queueLength: 0, running: 0 } } });
  });
});
