/**
 * A real redis-server for one test file, on a free port in a temporary folder, started the
 * way the local stack starts it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../deploy/ports.ts';
import { REDIS_READY_LINE, redisServerSpec } from '../../deploy/redis-server.ts';
import { Supervisor } from '../../deploy/supervisor.ts';

export interface TestRedis {
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-redis-test-'));
  const supervisor = new Supervisor({ logDir: dir, stopGraceMs: 5_000 });
  const port = await freePort();
  await supervisor.start(
    redisServerSpec({ name: 'redis', port, dataDir: join(dir, 'data'), cwd: dir }),
  );
  await supervisor.waitForOutput('redis', REDIS_READY_LINE, 15_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: async () => {
      await supervisor.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
