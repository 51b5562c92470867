/** The API server's settings, read once from the environment at start. */
import {
  integerVariable,
  logSettings,
  modelSettings,
  portVariable,
  queueSettings,
  redisSettings,
} from '@zeus/core';
import { z } from 'zod';

export const serverEnvironment = z.object({
  ...redisSettings,
  ...modelSettings,
  ...queueSettings,
  ...logSettings,
  /** Port the server listens on (0: any free port). */
  ZEUS_API_PORT: portVariable(4000),
  /** Address the server listens on. */
  ZEUS_API_HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * On shutdown, how long the server keeps serving while reporting itself unhealthy, so the
   * load balancer's health check (every second) stops sending it requests before it closes.
   */
  ZEUS_DRAIN_DELAY_MS: integerVariable({ min: 0, max: 60_000 }, 1_500),
  /** How long open HTTP requests get to finish on shutdown before they are cut. */
  ZEUS_SHUTDOWN_GRACE_MS: integerVariable({ min: 0, max: 600_000 }, 10_000),
});

export type ServerConfig = z.infer<typeof serverEnvironment>;
