/** The API server's settings, read once from the environment at start. */
import {
  booleanVariable,
  integerVariable,
  logSettings,
  modelSettings,
  parseRateLimit,
  portVariable,
  queueSettings,
  redisSettings,
} from '@zeus/core';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { ApiKeyRing, parseApiKeys } from './auth.ts';
import { parseAllowedOrigins } from './origins.ts';

/** A string setting read by a parser that throws with what is wrong. */
function parsedVariable<T>(parse: (text: string) => T, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, context) => {
      try {
        return parse(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });
}

export const securitySettings = {
  /**
   * API keys, `name:key` pairs, comma separated (see auth.ts). Unset: no keys, everyone may
   * submit and see every job.
   */
  ZEUS_API_KEYS: z
    .string()
    .optional()
    .transform((text, context) => {
      if (text === undefined) return new ApiKeyRing([]);
      try {
        return new ApiKeyRing(parseApiKeys(text));
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** `submitPrompt` calls allowed per API key (or per client address without keys). */
  ZEUS_RATE_LIMIT: parsedVariable(parseRateLimit, '30/60s'),
  /** Web origins, besides Zeus's own, whose pages may call the API (CORS and WebSocket). */
  ZEUS_ALLOWED_ORIGINS: parsedVariable(parseAllowedOrigins, ''),
  /**
   * Addresses whose X-Forwarded-For is believed (proxy-addr names: loopback, linklocal,
   * uniquelocal, or addresses and CIDR ranges, comma separated): Caddy's, so the client's real
   * address is used for rate limits and logs.
   */
  ZEUS_TRUSTED_PROXIES: parsedVariable((text) => {
    const list = text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    proxyAddr.compile(list);
    return list;
  }, 'loopback,uniquelocal'),
  /** Whether the schema can be introspected (the playground's Docs and autocompletion need it). */
  ZEUS_INTROSPECTION: booleanVariable(true),
};

export const serverEnvironment = z.object({
  ...redisSettings,
  ...modelSettings,
  ...queueSettings,
  ...logSettings,
  ...securitySettings,
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
