import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { composeOverride } from './compose-override.ts';
import { COMPOSE_FILE } from './test-support/docker-plan-fixtures.ts';

describe('composeOverride', () => {
  it('copies the inference service of docker-compose.yml for each extra GPU', () => {
    const text = composeOverride.generate(COMPOSE_FILE, { workers: 2, user: undefined }) ?? '';
    expect(composeOverride.isOurs(text)).toBe(true);
    const base = (parse(COMPOSE_FILE, { merge: true }) as { services: Record<string, unknown> })
      .services['inference'] as Record<string, unknown>;
    const copy = (parse(text) as { services: Record<string, Record<string, unknown>> }).services[
      'inference-2'
    ];
    // Everything but the worker id and the device is the same.
    expect({
      ...copy,
      environment: { ...(copy?.['environment'] as object), ZEUS_WORKER_ID: 'inference-1' },
      deploy: base['deploy'],
    }).toEqual(base);
    expect(composeOverride.generate(COMPOSE_FILE, { workers: 1, user: undefined })).toBeUndefined();
  });
});
