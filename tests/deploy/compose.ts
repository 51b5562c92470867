/**
 * docker-compose.yml as compose sees it: YAML with merge keys resolved, and `${VAR}`,
 * `${VAR:-default}` and `${VAR-default}` interpolated from an environment, as compose does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

export interface ComposeService {
  readonly image?: string;
  readonly build?: {
    readonly context: string;
    readonly dockerfile: string;
    readonly args?: Record<string, string>;
  };
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly volumes?: readonly string[];
  readonly ports?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly healthcheck?: { readonly test: readonly string[] };
  readonly restart?: string;
  readonly profiles?: readonly string[];
  readonly user?: string;
  readonly deploy?: {
    readonly resources?: {
      readonly reservations?: {
        readonly devices?: readonly {
          readonly driver?: string;
          readonly device_ids?: readonly string[];
          readonly capabilities?: readonly string[];
        }[];
      };
    };
  };
}

export interface ComposeFile {
  readonly name: string;
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

export const COMPOSE_PATH = join(REPOSITORY_ROOT, 'docker-compose.yml');

/** The raw document (merge keys resolved, nothing interpolated), as the schema sees it. */
export function readComposeDocument(path = COMPOSE_PATH): unknown {
  return parse(readFileSync(path, 'utf8'), { merge: true });
}

/** Compose's interpolation of one string. */
export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return text.replace(
    /\$\{(\w+)(?:(:?-)([^}]*))?\}/g,
    (_whole, name: string, operator: string | undefined, fallback: string | undefined) => {
      const value = env[name];
      if (operator === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
      if (operator === '-') return value ?? fallback ?? '';
      return value ?? '';
    },
  );
}

function interpolateAll(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, env));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateAll(item, env)]),
    );
  }
  return value;
}

/** The compose file with every `${…}` replaced from `env` (default: nothing set). */
export function loadCompose(env: Readonly<Record<string, string | undefined>> = {}): ComposeFile {
  return interpolateAll(readComposeDocument(), env) as ComposeFile;
}
