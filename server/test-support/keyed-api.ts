/**
 * API servers in the test's own process on a real Redis, with API keys on (alice and bob), and
 * the requests the security tests send them: server/src/*security*.int.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis, createLogger, loadConfig, type Redis } from '@zeus/core';
import { expect } from 'vitest';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import { startApiServer, type ApiServer } from '../src/api-server.ts';
import { serverEnvironment } from '../src/config.ts';

export const ALICE = 'alice-key-0123456789abcdef';
export const BOB = 'bob-key-fedcba9876543210';

export interface Answer {
  readonly status: number;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

export const codeOf = (answer: Answer): unknown => answer.body.errors?.[0]?.extensions?.['code'];

export const SUBMIT = 'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }';

export class KeyedApi {
  private readonly servers: ApiServer[] = [];
  private prefixes = 0;
  /** The first server's address (its key prefix is the one given to `start`). */
  url = '';

  private constructor(
    private readonly redisServer: TestRedis,
    /** A connection to the test Redis, for what the tests read or plant there. */
    readonly redis: Redis,
    private readonly dir: string,
    private readonly prefix: string,
  ) {}

  /** A test Redis and one server on it with the key prefix `prefix`. */
  static async start(prefix: string): Promise<KeyedApi> {
    const redisServer = await startTestRedis();
    const redis = connectRedis(redisServer.url, { name: `${prefix}-test`, role: 'requests' });
    const dir = await mkdtemp(join(tmpdir(), `zeus-${prefix}-`));
    const api = new KeyedApi(redisServer, redis, dir, prefix);
    api.url = await api.startServer({ ZEUS_REDIS_PREFIX: prefix });
    return api;
  }

  /** One more API server on the test Redis, with keys on and its own key prefix unless given. */
  async startServer(env: Record<string, string> = {}): Promise<string> {
    this.prefixes += 1;
    const config = loadConfig(serverEnvironment, {
      REDIS_URL: this.redisServer.url,
      ZEUS_REDIS_PREFIX: `${this.prefix}${this.prefixes}`,
      ZEUS_MODEL: 'tiny-random',
      ZEUS_MODELS_DIR: join(this.dir, 'models'),
      ZEUS_GENERATED_DIR: join(this.dir, `generated-${this.prefixes}`),
      ZEUS_API_HOST: '127.0.0.1',
      ZEUS_API_PORT: '0',
      ZEUS_API_KEYS: `alice:${ALICE},bob:${BOB}`,
      ZEUS_RATE_LIMIT: '1000/60s',
      ZEUS_DRAIN_DELAY_MS: '0',
      ...env,
    });
    const server = await startApiServer(config, createLogger('api', 'silent'));
    this.servers.push(server);
    if (!('port' in server.address)) throw new Error('the API server listens on a socket');
    return `http://127.0.0.1:${server.address.port}`;
  }

  async post(
    query: string,
    variables: Record<string, unknown> = {},
    key?: string,
    at = this.url,
  ): Promise<Answer> {
    const response = await fetch(`${at}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  async submit(key: string, prompt = 'a fox', at = this.url): Promise<string> {
    const answer = await this.post(SUBMIT, { input: { prompt } }, key, at);
    expect(answer.body.errors).toBeUndefined();
    return (answer.body.data?.['submitPrompt'] as { id: string }).id;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
    await closeRedis(this.redis);
    await this.redisServer.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
