import type { z } from 'zod';
import { ConfigError } from './errors.ts';

/** Variables whose values must not reach logs: keys, tokens, passwords, URLs with credentials. */
export function isSecret(name: string, value: string): boolean {
  return (
    /(KEYS?|TOKEN|SECRET|PASSWORD)$/.test(name) || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(value)
  );
}

/**
 * Parses the environment once into a typed object. Every problem is reported in one
 * `ConfigError`, naming each variable and what is wrong with it. Empty variables count as unset.
 */
export function loadConfig<Schema extends z.ZodType>(
  schema: Schema,
  env: Readonly<Record<string, string | undefined>> = process.env,
): z.infer<Schema> {
  // An empty variable counts as unset (compose passes `${VAR}` of an unset VAR as "").
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.') || '(environment)';
    const name = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
    const value = name === undefined ? undefined : env[name];
    const shown =
      value === undefined
        ? 'not set'
        : isSecret(name ?? '', value)
          ? 'value not shown: it holds a secret'
          : `got ${JSON.stringify(value)}`;
    return `${variable}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}
