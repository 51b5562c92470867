/**
 * A real redis-server for one test file, on a Unix socket in a temporary folder, started the
 * way the local stack starts it (no TCP port, so test files running side by side cannot collide).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisSocketUrl, type Redis } from '@zeus/core';
import { REDIS_READY_LINE, redisServerSpec } from '../../deploy/redis-server.ts';
import { Supervisor } from '../../deploy/supervisor.ts';
import { eventually } from './eventually.ts';

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

/**
 * Resolves once redis-server has written every command it ran before this call to its
 * append-only file, so that they survive the process being killed (SIGKILL). With `appendfsync
 * everysec` Redis may hold writes in its own buffer for up to two seconds while a background
 * fsync is slow (a busy disk or machine): a write acknowledged, and even published, just before
 * a kill can be lost, as everysec allows. A test that kills Redis to show what it kept waits for
 * this first, rather than for a time. (A power cut may still lose the last second: the file is
 * fsynced every second, which no test here can cut.)
 */
export async function appendOnlyFileWritten(redis: Redis): Promise<void> {
  // INFO runs after every command sent before it; its buffer length counts what is not yet in
  // the file. Redis writes it out within about two seconds by itself; the deadline is a guard.
  await eventually(async () => {
    const info = await redis.info('persistence');
    const field = (name: string): string | undefined =>
      new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
    if (field('aof_enabled') !== '1') throw new Error('Redis has no append-only file');
    const buffered = field('aof_buffer_length');
    if (buffered !== '0') {
      throw new Error(
        `${buffered ?? 'an unknown number of'} bytes not yet in the append-only file`,
      );
    }
  }, 30_000);
}
