/**
 * deploy/kustomize, rendered as `kubectl apply -k` renders it, for every overlay shipped and for
 * an operator's own: every object against the Kubernetes schemas, then what Zeus needs of them
 * (GPUs, probes, autoscaling, routing, volumes, the weights Job, Redis) and that each process
 * gets a configuration it accepts. The variants are variants.ts; the checks, object-checks.ts and
 * workload-checks.ts.
 */
import { beforeAll, describe } from 'vitest';
import { objectChecks } from './object-checks.ts';
import { checkKustomize, type RenderedObject } from './render.ts';
import { VARIANTS } from './variants.ts';
import { workloadChecks } from './workload-checks.ts';

beforeAll(async () => {
  await checkKustomize();
});

describe.each(VARIANTS)('$name', (variant) => {
  const objects: RenderedObject[] = [];
  beforeAll(async () => {
    objects.push(...(await variant.render()));
  });

  objectChecks(variant, objects);
  workloadChecks(variant, objects);
});
