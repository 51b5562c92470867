/**
 * A real redis-server for one test file, on a Unix socket in a temporary folder, started the
 * way the local stack starts it (no TCP port, so test files running side by side cannot collide).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisSocketUrl } from '@zeus/core';
import { REDIS_READY_LINE, redisServerSpec } from '../../deploy/redis-server.ts';
import { Supervisor } from '../../deploy/supervisor.ts';

export interface TestRedis {
  /** `unix:///…/redis.sock`. */
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-redis-test-'));
  const supervisor = new Supervisor({ logDir: dir, stopGraceMs: 5_000 });
  const socket = join(dir, 'redis.sock');
  await supervisor.start(
    redisServerSpec({ name: 'redis', socket, dataDir: join(dir, 'data'), cwd: dir }),
  );
  await supervisor.waitForOutput('redis', REDIS_READY_LINE, 15_000);
  return {
    url: redisSocketUrl(socket),
    dir,
    stop: async () => {
      await supervisor.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
