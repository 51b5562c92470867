/** The API server's settings, read once from the environment at start. */
import {
  booleanVariable,
  checkStorageSettings,
  integerVariable,
  logSettings,
  modelSettings,
  parsedVariable,
  parseKeyPriorities,
  parseRateLimit,
  portVariable,
  queueSettings,
  redisSettings,
  retentionSettings,
  socketPathVariable,
  storageSettings,
} from '@zeus/core';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { ApiKeyRing, parseApiKeys } from './auth.ts';
import { parseAllowedOrigins } from './origins.ts';

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
  /**
   * The highest priority each API key may ask for, `name:max` pairs (max 1 to 10), comma
   * separated. Keys not listed may only lower their jobs' priority. Unused without keys.
   */
  ZEUS_KEY_PRIORITIES: parsedVariable(parseKeyPriorities, ''),
};

export const jobControlSettings = {
  /** The most jobs one `submitBatch` may queue. */
  ZEUS_MAX_BATCH: integerVariable({ min: 1, max: 100 }, 16),
  /**
   * The key webhook deliveries are signed with (HMAC-SHA256), at least 16 characters. Unset:
   * webhooks are off, and a submission with a webhookUrl is refused.
   */
  ZEUS_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Let webhooks reach loopback, private and link-local addresses. Off by default: a user could
   * otherwise make Zeus send requests into its own network (SSRF).
   */
  ZEUS_WEBHOOK_ALLOW_PRIVATE: booleanVariable(false),
  /** Tries per webhook event, the first included, before it is given up. */
  ZEUS_WEBHOOK_ATTEMPTS: integerVariable({ min: 1, max: 30 }, 10),
  /** The wait before a webhook's second try; it doubles for each later one. */
  ZEUS_WEBHOOK_BACKOFF_MS: integerVariable({ min: 10, max: 3_600_000 }, 2_000),
  /** How long one webhook request may take before it counts as failed. */
  ZEUS_WEBHOOK_TIMEOUT_MS: integerVariable({ min: 100, max: 120_000 }, 10_000),
};

export const uploadSettings = {
  /** The largest first-frame image `POST /uploads` accepts, in bytes (default 10 MiB). */
  ZEUS_MAX_UPLOAD_BYTES: integerVariable({ min: 1_024, max: 104_857_600 }, 10_485_760),
  /** How long an upload can be used for new jobs (a job keeps its own copy), in seconds. */
  ZEUS_UPLOAD_TTL_SECONDS: integerVariable({ min: 60, max: 604_800 }, 3_600),
  /**
   * Bytes one caller (API key, or address) may upload per `ZEUS_UPLOAD_TTL_SECONDS`
   * (default 64 MiB); uploads then hold at most twice this in Redis.
   */
  ZEUS_UPLOAD_QUOTA_BYTES: integerVariable({ min: 1_024, max: 17_179_869_184 }, 67_108_864),
  /** The same for all callers together (default 256 MiB: at most 512 MiB held in Redis). */
  ZEUS_UPLOAD_TOTAL_BYTES: integerVariable({ min: 1_024, max: 17_179_869_184 }, 268_435_456),
};

export const serverEnvironment = z
  .object({
    ...redisSettings,
    ...modelSettings,
    ...queueSettings,
    ...logSettings,
    ...securitySettings,
    ...jobControlSettings,
    ...retentionSettings,
    ...uploadSettings,
    // With a bucket, the servers answer /generated/… (outputs-route.ts).
    ...storageSettings,
    /** Port the server listens on (0: any free port). */
    ZEUS_API_PORT: portVariable(4000),
    /** Address the server listens on. */
    ZEUS_API_HOST: z.string().min(1).default('0.0.0.0'),
    /**
     * A Unix socket the server listens on instead of ZEUS_API_HOST:ZEUS_API_PORT (local mode
     * sets it). Whoever connects through it is trusted as a proxy, like ZEUS_TRUSTED_PROXIES.
     */
    ZEUS_API_SOCKET: socketPathVariable(),
    /**
     * On shutdown, how long the server keeps serving while reporting itself unhealthy, so the
     * load balancer's health check (every second) stops sending it requests before it closes.
     */
    ZEUS_DRAIN_DELAY_MS: integerVariable({ min: 0, max: 60_000 }, 1_500),
    /** How long open HTTP requests get to finish on shutdown before they are cut. */
    ZEUS_SHUTDOWN_GRACE_MS: integerVariable({ min: 0, max: 600_000 }, 10_000),
  })
  .superRefine(checkStorageSettings)
  .superRefine((config, context) => {
    const names = new Set(config.ZEUS_API_KEYS.names);
    for (const name of config.ZEUS_KEY_PRIORITIES.keys()) {
      if (!names.has(name)) {
        context.addIssue({
          code: 'custom',
          path: ['ZEUS_KEY_PRIORITIES'],
          message: `${name} is not a key name in ZEUS_API_KEYS`,
        });
      }
    }
  });

export type ServerConfig = z.infer<typeof serverEnvironment>;
