import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { isSecret, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

const schema = z.object({
  ZEUS_API_KEYS: z.string().regex(/^\w+:\w{16,}$/, 'must be name:key'),
  REDIS_URL: z.string().regex(/^redis:\/\/[^@]+$/, 'must be a redis:// URL without credentials'),
  ZEUS_PORT: z.string().regex(/^\d+$/, 'must be a whole number'),
});

describe('loadConfig', () => {
  it('reports every problem at once, showing values but never secrets', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig(schema, {
        ZEUS_API_KEYS: 'alice:short-secret',
        REDIS_URL: 'redis://:hunter2@redis:6379',
        ZEUS_PORT: 'eighty',
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'ZEUS_API_KEYS: must be name:key (value not shown: it holds a secret)',
      'REDIS_URL: must be a redis:// URL without credentials (value not shown: it holds a secret)',
      'ZEUS_PORT: must be a whole number (got "eighty")',
    ]);
    expect(problems.join('\n')).not.toMatch(/short-secret|hunter2/);
  });

  it('knows secrets by name or by credentials in a URL', () => {
    expect(isSecret('ZEUS_API_KEYS', 'x')).toBe(true);
    expect(isSecret('ZEUS_API_KEY', 'x')).toBe(true);
    expect(isSecret('HF_TOKEN', 'x')).toBe(true);
    expect(isSecret('REDIS_URL', 'rediss://user:pass@host:6380')).toBe(true);
    expect(isSecret('REDIS_URL', 'redis://127.0.0.1:6379')).toBe(false);
    expect(isSecret('ZEUS_PORT', '8080')).toBe(false);
  });
});
