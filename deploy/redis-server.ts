/**
 * How the local stack runs redis-server: durable (append-only file, fsync every second), never
 * evicting keys, since it holds the queue and the job history, capped (`maxmemory`, as compose
 * and Kubernetes cap theirs: full, Redis refuses writes rather than growing until the machine
 * kills it), and on a Unix socket only (no TCP port: `--port 0`), so it can take no one's port
 * and no one can take its.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from './supervisor.ts';

export interface RedisServerOptions {
  readonly name: string;
  /** The Unix socket it listens on (REDIS_URL `unix://<socket>`); redis-server replaces a file there. */
  readonly socket: string;
  /** Folder for the append-only file (created if missing). */
  readonly dataDir: string;
  readonly cwd: string;
  /** Its memory cap, in redis-server's units (default `DEFAULT_REDIS_MAXMEMORY`). */
  readonly maxMemory?: string;
}

/** The cap every deployment gives Redis unless told otherwise (ZEUS_REDIS_MAXMEMORY in compose). */
export const DEFAULT_REDIS_MAXMEMORY = '1gb';

/** Where redis-server writes its pid, so a later run can find one left running. */
export function redisPidFile(dataDir: string): string {
  return join(dataDir, 'redis-server.pid');
}

export function redisServerArgs(
  socket: string,
  dataDir: string,
  maxMemory: string = DEFAULT_REDIS_MAXMEMORY,
): string[] {
  return [
    '--port',
    '0',
    '--unixsocket',
    socket,
    // Only its owner's processes may connect.
    '--unixsocketperm',
    '700',
    '--dir',
    dataDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory',
    maxMemory,
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
    args: redisServerArgs(options.socket, options.dataDir, options.maxMemory),
    env: { PATH: process.env['PATH'] },
    cwd: options.cwd,
  };
}

/**
 * redis-server's line once it accepts connections (it says so on standard output: "Ready to
 * accept connections" on TCP, "…now ready to accept connections at <socket>" on a socket).
 */
export const REDIS_READY_LINE = /ready to accept connections/i;
