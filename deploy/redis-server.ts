/**
 * How the local stack runs redis-server: durable (append-only file, fsync every second) and
 * never evicting keys, since it holds the queue and the job history.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from './supervisor.ts';

export interface RedisServerOptions {
  readonly name: string;
  readonly port: number;
  /** Folder for the append-only file (created if missing). */
  readonly dataDir: string;
  readonly cwd: string;
}

/** Where redis-server writes its pid, so a later run can find one left running. */
export function redisPidFile(dataDir: string): string {
  return join(dataDir, 'redis-server.pid');
}

export function redisServerArgs(port: number, dataDir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dataDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    // The append-only file is the persistence; RDB snapshots on top would only add disk work.
    '--save',
    '',
    '--daemonize',
    'no',
    '--pidfile',
    redisPidFile(dataDir),
  ];
}

export function redisServerSpec(options: RedisServerOptions): ProcessSpec {
  mkdirSync(options.dataDir, { recursive: true });
  return {
    name: options.name,
    command: 'redis-server',
    args: redisServerArgs(options.port, options.dataDir),
    env: { PATH: process.env['PATH'] },
    cwd: options.cwd,
  };
}

/** redis-server's line once it accepts connections (it says so on standard output). */
export const REDIS_READY_LINE = /Ready to accept connections/;
