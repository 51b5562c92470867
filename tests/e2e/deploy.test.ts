/**
 * `deploy.ts --local`, what users run (`npx tsx deploy.ts`): it reports the stack ready with its
 * URL, uses an existing Redis when REDIS_URL names one, stops everything on SIGTERM or Ctrl-C
 * (SIGINT), and explains what keeps it from starting. It runs here as
 * `node --import tsx deploy.ts`, so signals reach it directly: npx does not pass SIGTERM on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis, RedisKeys } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { dockerInfo } from '../../deploy/docker-cli.ts';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { reservePort } from '../../deploy/ports.ts';
import { eventually } from '../helpers/eventually.ts';
import { graphqlRequest } from '../helpers/graphql.ts';
import { HOOK_TIMEOUT_MS } from '../helpers/limits.ts';
import { startTestRedis } from '../helpers/redis.ts';

/**
 * Each of these tests starts a whole deployment itself, as a stack-starting hook does: the same
 * limit as such a hook, so a busy machine's slow start is not cut short (tests/helpers/limits.ts).
 */
const STACK_TEST_TIMEOUT_MS = HOOK_TIMEOUT_MS;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-deploy-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A port reserved until the test ends (ports.ts): deploy.ts's Caddy can bind it, and no other
 * program is given it meanwhile; until Caddy listens, connecting to it is refused.
 */
async function reservedPort(): Promise<number> {
  const reservation = await reservePort();
  onTestFinished(() => {
    reservation.release();
  });
  return reservation.port;
}

interface Deployment {
  readonly process: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** Resolves when the output matches, rejects if the process exits first. */
  printed(pattern: RegExp): Promise<void>;
  readonly exited: Promise<number | null>;
}

function deploy(
  env: Record<string, string | undefined>,
  args: readonly string[] = ['--local'],
): Deployment {
  const child = spawn(process.execPath, ['--import', 'tsx', 'deploy.ts', ...args], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    process: child,
    output: () => output,
    exited,
    printed: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(output)) return;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
        void exited.then(() => {
          if (!pattern.test(output)) reject(new Error(`deploy.ts exited first:\n${output}`));
        });
      }),
  };
}

describe('deploy.ts --local', () => {
  it(
    'starts the stack, prints "Deployment complete." and the URL, and stops on SIGTERM',
    async () => {
      const port = await reservedPort();
      const deployment = deploy({
        ZEUS_MODEL: 'tiny-random',
        ZEUS_MODELS_DIR: join(dir, 'models'),
        ZEUS_PORT: String(port),
        ZEUS_WORKERS: '1',
        ZEUS_DATA_DIR: join(dir, 'data'),
        ZEUS_GENERATED_DIR: join(dir, 'generated'),
        ZEUS_LOG_LEVEL: 'warn',
      });
      await deployment.printed(/Deployment complete\. Zeus is at http:\/\/localhost:(\d+)/);
      expect(deployment.output()).toContain(`http://localhost:${port}`);

      const status = await graphqlRequest<{ system: { workersOnline: number; model: string } }>(
        `http://127.0.0.1:${port}/graphql`,
        '{ system { workersOnline model } }',
      );
      expect(status.data?.system).toEqual({ workersOnline: 1, model: 'tiny-random' });

      deployment.process.kill('SIGTERM');
      expect(await deployment.exited).toBe(0);
      expect(deployment.output()).toContain('Zeus stopped.');
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    },
    STACK_TEST_TIMEOUT_MS,
  );

  it(
    'uses the Redis REDIS_URL names, starts none, and on Ctrl-C (SIGINT) stops, leaving it and its jobs',
    async () => {
      const external = await startTestRedis();
      const redis = connectRedis(external.url, { name: 'deploy-test', role: 'requests' });
      try {
        const port = await reservedPort();
        const dataDir = join(dir, 'data-external-redis');
        const deployment = deploy({
          REDIS_URL: external.url,
          ZEUS_MODEL: 'tiny-random',
          ZEUS_MODELS_DIR: join(dir, 'models'),
          ZEUS_PORT: String(port),
          // No worker: the job stays queued, in that Redis.
          ZEUS_WORKERS: '0',
          ZEUS_DATA_DIR: dataDir,
          ZEUS_GENERATED_DIR: join(dir, 'generated'),
          ZEUS_LOG_LEVEL: 'warn',
        });
        await deployment.printed(/Deployment complete\. Zeus is at http:\/\/localhost:\d+/);
        expect(deployment.output()).toMatch(
          /^Starting Zeus locally: 3 API servers, Caddy and 0 worker\(s\) running tiny-random…$/m,
        );
        // Every process the stack started has a log; there is none for a Redis of its own.
        const logs = await readdir(join(dataDir, 'logs'));
        expect(logs.some((name) => name.startsWith('api-'))).toBe(true);
        expect(logs.some((name) => name.startsWith('redis'))).toBe(false);

        const submitted = await graphqlRequest<{ submitPrompt: { id: string; status: string } }>(
          `http://127.0.0.1:${port}/graphql`,
          'mutation { submitPrompt(input: { prompt: "A lighthouse in a storm at night" }) { id status } }',
        );
        const job = submitted.data?.submitPrompt;
        expect(job?.status).toBe('QUEUED');
        const key = new RedisKeys().job(job?.id ?? '');
        expect(JSON.parse((await redis.get(key)) ?? 'null')).toMatchObject({
          id: job?.id,
          status: 'QUEUED',
        });

        // What the terminal sends on Ctrl-C.
        deployment.process.kill('SIGINT');
        expect(await deployment.exited).toBe(0);
        expect(deployment.output()).toContain('Stopping Zeus (SIGINT)');
        expect(deployment.output()).toContain('Zeus stopped.');
        await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
        // The Redis was not deploy.ts's to stop: it still answers, with the job in it.
        expect(await redis.ping()).toBe('PONG');
        expect(JSON.parse((await redis.get(key)) ?? 'null')).toMatchObject({ id: job?.id });
      } finally {
        await closeRedis(redis);
        await external.stop();
      }
    },
    STACK_TEST_TIMEOUT_MS,
  );

  // `npx tsx deploy.ts` with no flag: Docker mode when an engine answers (tests/deploy/), the
  // local stack otherwise, as on this machine and CI.
  it.skipIf(dockerInfo().answers)(
    'without --local, says no Docker engine answered and runs the stack locally',
    async () => {
      const port = await reservedPort();
      const deployment = deploy(
        {
          ZEUS_MODEL: 'tiny-random',
          ZEUS_MODELS_DIR: join(dir, 'models'),
          ZEUS_PORT: String(port),
          ZEUS_WORKERS: '1',
          ZEUS_DATA_DIR: join(dir, 'data-auto'),
          ZEUS_GENERATED_DIR: join(dir, 'generated'),
          ZEUS_LOG_LEVEL: 'warn',
        },
        [],
      );
      await deployment.printed(/Deployment complete\. Zeus is at http:\/\/localhost:\d+/);
      expect(deployment.output()).toMatch(
        /^No Docker engine answered \(.+\), so Zeus runs as local processes \(--local\)/m,
      );
      deployment.process.kill('SIGTERM');
      expect(await deployment.exited).toBe(0);
    },
    STACK_TEST_TIMEOUT_MS,
  );

  it(
    'with the default model and no Hub in reach, runs and says why the model is not ready',
    async () => {
      const port = await reservedPort();
      const closed = await reservedPort();
      const deployment = deploy({
        ZEUS_MODEL: undefined,
        ZEUS_MODELS_DIR: join(dir, 'models-default'),
        HF_ENDPOINT: `http://127.0.0.1:${closed}`,
        ZEUS_PORT: String(port),
        ZEUS_DATA_DIR: join(dir, 'data-default'),
        ZEUS_GENERATED_DIR: join(dir, 'generated'),
        ZEUS_LOG_LEVEL: 'warn',
      });
      await deployment.printed(/Deployment complete\. Zeus is at http:\/\/localhost:\d+/);
      interface Status {
        system: {
          model: string;
          modelReady: boolean;
          modelStatus: { state: string; message: string } | null;
        };
      }
      const status = await eventually(async () => {
        const response = await graphqlRequest<Status>(
          `http://127.0.0.1:${port}/graphql`,
          '{ system { model modelReady modelStatus { state message } } }',
        );
        expect(response.data?.system.modelStatus?.state).toBe('FAILED');
        return response.data?.system;
      }, 60_000);
      expect(status).toMatchObject({ model: 'ltxv-2b-0.9.6-distilled', modelReady: false });
      expect(status?.modelStatus?.message).toMatch(
        /^Could not download Lightricks\/LTX-Video\/.*cannot be reached.*HF_ENDPOINT.*The worker tries again in 30 s\.$/,
      );
      deployment.process.kill('SIGTERM');
      expect(await deployment.exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    },
    STACK_TEST_TIMEOUT_MS,
  );

  it('reports every invalid setting at once, before starting anything', async () => {
    const deployment = deploy({ ZEUS_PORT: 'eighty', ZEUS_WORKERS: '-1', ZEUS_DEVICE: 'gpu' });
    expect(await deployment.exited).toBe(1);
    const output = deployment.output();
    expect(output).toContain('Invalid configuration:');
    expect(output).toMatch(/ZEUS_PORT: must be a whole number \(got "eighty"\)/);
    expect(output).toMatch(/ZEUS_WORKERS: must be a whole number \(got "-1"\)/);
    expect(output).toMatch(/ZEUS_DEVICE: .*\(got "gpu"\)/);
    expect(output).not.toContain('Starting Zeus');
  });
});
