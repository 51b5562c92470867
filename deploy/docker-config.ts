/**
 * Docker mode's settings, read once from the environment: the host side of the deployment
 * (port, host folders, model, Hub). The containers' own settings are checked here too, against
 * the environment compose gives them, so every problem is reported in one error before anything
 * is built.
 */
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, modelSettings, portVariable } from '@zeus/core';
import { HubSettingsError, hubSettingsFromEnv, type HubSettings } from '@zeus/models';
import { workerEnvironment } from '@zeus/inference/worker-config';
import { serverEnvironment } from '@zeus/server';
import { z } from 'zod';
import { REPOSITORY_ROOT } from './local-stack.ts';

const hostFolder = (fallback: string) =>
  z
    .string()
    .min(1)
    .transform((path) => resolve(path))
    .default(fallback);

export const dockerDeployEnvironment = z.object({
  ...modelSettings,
  /** The port Zeus answers on: Caddy's, published on the host. */
  ZEUS_PORT: portVariable(80).pipe(z.number().min(1, 'must be a port from 1 to 65535')),
  /** Host folder of the models; the model's own folder in it is mounted as /models/<model>. */
  ZEUS_MODELS_DIR: hostFolder(join(REPOSITORY_ROOT, 'models')),
  /** Host folder of the videos, mounted into the worker and Caddy. */
  ZEUS_GENERATED_DIR: hostFolder(join(REPOSITORY_ROOT, 'generated')),
});

export type DockerDeployConfig = z.infer<typeof dockerDeployEnvironment> & {
  readonly hub: HubSettings;
};

/** The variables compose sets for the containers itself: not the user's to get right. */
const SET_BY_COMPOSE = {
  REDIS_URL: undefined,
  ZEUS_API_PORT: undefined,
  ZEUS_API_HOST: undefined,
  ZEUS_DEVICE: undefined,
  ZEUS_GENERATED_DIR: undefined,
  ZEUS_WORKER_ID: undefined,
  ZEUS_MODELS_DIR: undefined,
};

/** Reads the settings, checking the servers' and workers' too; one error lists every problem. */
export function loadDockerDeployConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DockerDeployConfig {
  const problems: string[] = [];
  const check = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else if (error instanceof HubSettingsError) problems.push(...error.problems);
      else throw error;
      return undefined;
    }
  };
  const config = check(() => loadConfig(dockerDeployEnvironment, env));
  const hub = check(() => hubSettingsFromEnv(env));
  const containerEnv = { ...env, ...SET_BY_COMPOSE };
  check(() => loadConfig(serverEnvironment, containerEnv));
  check(() => loadConfig(workerEnvironment, containerEnv));
  if (config === undefined || hub === undefined || problems.length > 0) {
    throw new ConfigError([...new Set(problems)]);
  }
  return { ...config, hub };
}
