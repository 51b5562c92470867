/**
 * An API server's /healthz while its Redis goes away and comes back: one real server process
 * (started as the local stack starts it) on a real redis-server that the test kills. Load
 * balancers and orchestrators read the status; people read the problems.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisSocketUrl } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { REDIS_READY_LINE, redisServerSpec } from '../../deploy/redis-server.ts';
import { Supervisor } from '../../deploy/supervisor.ts';
import { eventually } from '../../tests/helpers/eventually.ts';
import { listeningPort } from '../../tests/helpers/listening.ts';

let dir: string;
let supervisor: Supervisor;
let healthUrl: string;
let redisAddress: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-api-health-'));
  supervisor = new Supervisor({ logDir: dir, stopGraceMs: 10_000 });
  // Redis on a socket keeps its address when restarted; the server takes any free port.
  redisAddress = join(dir, 'redis.sock');
  await supervisor.start(
    redisServerSpec({ name: 'redis', socket: redisAddress, dataDir: join(dir, 'redis'), cwd: dir }),
  );
  await supervisor.waitForOutput('redis', REDIS_READY_LINE, 15_000);
  await supervisor.start({
    name: 'api',
    command: process.execPath,
    args: ['--import', 'tsx', 'server/src/main.ts'],
    env: {
      ...process.env,
      REDIS_URL: redisSocketUrl(redisAddress),
      ZEUS_API_HOST: '127.0.0.1',
      ZEUS_API_PORT: '0',
      ZEUS_MODEL: 'tiny-random',
      // Info, for the "listening" line this test waits for.
      ZEUS_LOG_LEVEL: 'info',
    },
    cwd: REPOSITORY_ROOT,
    ipc: true,
  });
  healthUrl = `http://127.0.0.1:${await listeningPort(supervisor, 'api', 20_000)}/healthz`;
}, 60_000);

afterAll(async () => {
  await supervisor.stop([['api'], ['redis']]);
  await rm(dir, { recursive: true, force: true });
});

interface Health {
  readonly status: number;
  readonly body: { readonly status: string; readonly problems: readonly string[] };
}

async function health(): Promise<Health> {
  const response = await fetch(healthUrl, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as Health['body'] };
}

describe('/healthz with Redis away', () => {
  it('answers 503 naming Redis while it is down, and 200 again once it is back', async () => {
    expect(await health()).toEqual({ status: 200, body: { status: 'ok', problems: [] } });
    const apiPid = supervisor.pid('api');

    supervisor.kill('redis', 'SIGKILL', { restart: false });
    const down = await eventually(async () => {
      const answer = await health();
      if (answer.status !== 503) throw new Error(`still ${answer.status}`);
      return answer;
    }, 10_000);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.problems).toHaveLength(1);
    expect(down.body.problems[0]).toMatch(
      new RegExp(
        `^redis: no answer from ${redisAddress.replaceAll('.', '\\.')} \\(connection \\w+\\): \\S`,
      ),
    );
    // It answers about Redis rather than dying of it.
    expect(supervisor.pid('api')).toBe(apiPid);

    await supervisor.restart('redis');
    await supervisor.waitForOutput('redis', REDIS_READY_LINE, 15_000);
    expect(
      await eventually(async () => {
        const answer = await health();
        if (answer.status !== 200) throw new Error(`still ${answer.status}`);
        return answer;
      }, 15_000),
    ).toEqual({ status: 200, body: { status: 'ok', problems: [] } });
    expect(supervisor.pid('api')).toBe(apiPid);
  }, 60_000);
});
