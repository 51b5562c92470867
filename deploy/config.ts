/**
 * `deploy.ts --local` settings, read once from the environment. The API servers' and workers'
 * own settings are checked here too, against the environment they will get, so every problem
 * is reported in one error before anything starts.
 */
import { join, resolve } from 'node:path';
import {
  booleanVariable,
  ConfigError,
  integerVariable,
  loadConfig,
  logSettings,
  modelSettings,
  portVariable,
  queueSettings,
  redisUrlVariable,
} from '@zeus/core';
import { workerEnvironment } from '@zeus/inference/worker-config';
import { serverEnvironment } from '@zeus/server';
import { z } from 'zod';
import { REPOSITORY_ROOT } from './local-stack.ts';

export const localDeployEnvironment = z.object({
  ...modelSettings,
  ...queueSettings,
  ...logSettings,
  /** The port Zeus answers on (Caddy's). */
  ZEUS_PORT: portVariable(8080),
  /**
   * Worker processes to run (0: none, for a machine that only serves the API). Unset: one per
   * GPU the workers may use, each on its own (local-gpus.ts); this 1 on a machine without.
   */
  ZEUS_WORKERS: integerVariable({ min: 0, max: 64 }, 1),
  /** Use this Redis instead of starting one. */
  REDIS_URL: redisUrlVariable().optional(),
  /** Folder for Redis's data, Caddy's state and the logs. */
  ZEUS_DATA_DIR: z
    .string()
    .min(1)
    .transform((path) => resolve(path))
    .default(join(REPOSITORY_ROOT, '.zeus')),
  /** Where videos are written and served from. */
  ZEUS_GENERATED_DIR: z
    .string()
    .min(1)
    .transform((path) => resolve(path))
    .default(join(REPOSITORY_ROOT, 'generated')),
  /** The three API servers' TCP ports, comma separated (default: Unix sockets). */
  ZEUS_API_PORTS: z
    .string()
    .regex(/^\d+,\d+,\d+$/, 'must be three ports, comma separated')
    .transform((list) => list.split(',').map(Number))
    .optional(),
  /** Whether Caddy serves the GraphQL playground at /graphql to browsers. */
  ZEUS_PLAYGROUND: booleanVariable(true),
  /** Caddy's admin endpoint, host:port or unix//path (default: a Unix socket in the data folder). */
  ZEUS_CADDY_ADMIN: z.string().min(1).optional(),
});

export type LocalDeployConfig = z.infer<typeof localDeployEnvironment>;

/** Reads the settings, checking the servers' and workers' too; one error lists every problem. */
export function loadLocalDeployConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LocalDeployConfig {
  const problems: string[] = [];
  const check = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const config = check(() => loadConfig(localDeployEnvironment, env));
  // The variables the stack sets for its processes are its own to get right: leave them out.
  const childEnv = {
    ...env,
    REDIS_URL: undefined,
    ZEUS_API_PORT: undefined,
    ZEUS_API_SOCKET: undefined,
    ZEUS_WORKER_SOCKET: undefined,
  };
  check(() => loadConfig(serverEnvironment, childEnv));
  check(() => loadConfig(workerEnvironment, childEnv));
  if (config === undefined || problems.length > 0) {
    throw new ConfigError([...new Set(problems)]);
  }
  return config;
}
