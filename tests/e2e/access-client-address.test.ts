/**
 * Without API keys, the submission rate limit counts each client by its address as Caddy tells
 * it, against the real stack (one API server behind Caddy, no worker): a forged X-Forwarded-For
 * buys nothing. The rest of who gets in is tests/e2e/access.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { ALICE, bearer, codeOf, post, type Answer } from '../helpers/access.ts';
import { SUBMIT, type GraphQLTarget } from '../helpers/graphql.ts';

describe('without keys: limits per client address, as Caddy tells it', () => {
  let stack: LocalStack;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zeus-access-open-'));
    stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: 0,
      apiServers: 1,
      env: { ZEUS_MODEL: 'tiny-random', ZEUS_LOG_LEVEL: 'warn', ZEUS_RATE_LIMIT: '2/60s' },
    });
  });

  afterAll(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts the real client, whatever X-Forwarded-For it sends through Caddy', async () => {
    const submit = (target: GraphQLTarget, forwardedFor: string): Promise<Answer> =>
      post(target, SUBMIT, { input: { prompt: 'a fox' } }, { 'x-forwarded-for': forwardedFor });
    expect((await submit(stack.graphqlUrl, '198.51.100.1')).body.errors).toBeUndefined();
    expect((await submit(stack.graphqlUrl, '198.51.100.2')).body.errors).toBeUndefined();
    // A made-up address does not buy more: Caddy replaces it with the real one.
    expect(codeOf(await submit(stack.graphqlUrl, '198.51.100.3'))).toBe('RATE_LIMITED');
    // Caddy is a trusted proxy (loopback): what it forwards is the client's address, so a
    // different client (as Caddy would tell it) has its own count.
    const direct = { apiServer: Object.values(stack.apiAddresses)[0] ?? '' };
    expect((await submit(direct, '203.0.113.9')).body.errors).toBeUndefined();
    // Keys are off: a key sent anyway changes nothing.
    const withKey = await post(stack.graphqlUrl, '{ jobs { totalCount } }', {}, bearer(ALICE));
    expect(withKey.body.data).toEqual({ jobs: { totalCount: 3 } });
  });

  it('serves the playground by default', async () => {
    const page = await fetch(stack.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});
