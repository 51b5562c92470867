/**
 * Environment variables shared by Zeus's processes, as zod schema fields. Each process builds
 * its schema from these and its own, and reads it once at start with `loadConfig`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { socketPathProblem } from './listen.ts';
import { LOG_LEVELS } from './logger.ts';
import { DEFAULT_MODEL, MODEL_NAMES } from './model-rules.ts';
import { isRedisUrl, REDIS_URL_FORMS } from './redis.ts';
import { parseRetention } from './retention.ts';

/** A whole number from an environment variable, within bounds. */
export function integerVariable(bounds: { min: number; max: number }, fallback: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(bounds.min, `must be at least ${bounds.min}`)
        .max(bounds.max, `must be at most ${bounds.max}`),
    )
    .default(fallback);
}

/** On or off: `true`/`false`, `on`/`off`, `yes`/`no` or `1`/`0` (any case). */
export function booleanVariable(fallback: boolean) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => /^(true|false|on|off|yes|no|1|0)$/.test(value), {
      error: 'must be true or false (or on/off, yes/no, 1/0)',
    })
    .transform((value) => /^(true|on|yes|1)$/.test(value))
    .default(fallback);
}

/** A string setting read by a parser that throws with what is wrong (its message is the problem). */
export function parsedVariable<T>(parse: (text: string) => T, fallback: string) {
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

/** A TCP port; 0 lets the system choose a free one. */
export function portVariable(fallback: number) {
  return integerVariable({ min: 0, max: 65_535 }, fallback);
}

/** A Redis URL: `redis://…`, `rediss://…` (TLS) or `unix:///path/to/redis.sock` (redis.ts). */
export function redisUrlVariable() {
  return z.string().refine(isRedisUrl, { error: `must be ${REDIS_URL_FORMS}` });
}

/** A Unix socket's path: absolute, and short enough for the system (listen.ts). */
export function socketPathVariable() {
  return z
    .string()
    .superRefine((path, context) => {
      const problem = socketPathProblem(path);
      if (problem !== null) context.addIssue({ code: 'custom', message: problem });
    })
    .optional();
}

export const redisSettings = {
  /** The Redis holding the queue, job state and pub/sub. */
  REDIS_URL: redisUrlVariable().default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key, so several installations can share one Redis. */
  ZEUS_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-"')
    .default('zeus'),
};

export const modelSettings = {
  /** The model workers run, and whose rules requests are checked against. */
  ZEUS_MODEL: z.enum(MODEL_NAMES).default(DEFAULT_MODEL),
  /**
   * Where model files live (`<dir>/<model>/`: weights, tokenizer, converted ONNX graphs), shared
   * by workers (which fill it) and API servers (which count prompt tokens with its tokenizer).
   * Unset: `models/` in the repository, each model in `models/<model>/` (@zeus/models'
   * defaultModelsDir).
   */
  ZEUS_MODELS_DIR: z
    .string()
    .min(1)
    .transform((path) => resolve(path))
    .optional(),
};

export const queueSettings = {
  /** The most jobs waiting in the queue; submissions beyond it fail with QUEUE_FULL. */
  ZEUS_MAX_QUEUED: integerVariable({ min: 1, max: 1_000_000 }, 1_000),
};

export const logSettings = {
  ZEUS_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
};

export const retentionSettings = {
  /**
   * How long finished jobs and their videos are kept (`7d`, `12h`, `30m`, `90s`, `2w`), or `off`
   * (for ever). Workers sweep expired jobs; API servers say when each expires. Milliseconds, or
   * null for off.
   */
  ZEUS_RETENTION: parsedVariable(parseRetention, 'off'),
};
