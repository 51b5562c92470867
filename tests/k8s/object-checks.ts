/**
 * What every rendered object of a kustomization must be (kustomize.int.test.ts): valid against
 * the Kubernetes schemas, in the restricted zeus namespace, selecting and naming what exists,
 * unprivileged, with requests, limits and pinned images.
 */
import { expect, test } from 'vitest';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { allContainers, find, ofKind, selects, workloads, type Labels } from './manifests.ts';
import type { RenderedObject } from './render.ts';
import { schemaProblems, unknownFieldProblems } from './schema.ts';
import type { Variant } from './variants.ts';

/** The tests of one variant's objects, rendered into `objects` before they run. */
export function objectChecks(variant: Variant, objects: readonly RenderedObject[]): void {
  test('every object is valid against the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThan(10);
    expect(await schemaProblems(objects)).toEqual([]);
  });

  test('no object has a field its kind does not have', () => {
    expect(unknownFieldProblems(objects)).toEqual([]);
  });

  test('everything is in the zeus namespace, which enforces the restricted pod security', () => {
    expect(find(objects, 'Namespace', 'zeus').metadata?.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('zeus');
    }
  });

  test("workloads select their own pods, and Services and budgets select one workload's", () => {
    const all = workloads(objects);
    for (const workload of all.filter((w) => w.kind !== 'Job')) {
      expect(
        selects(workload.spec.selector?.matchLabels, workload.spec.template.metadata?.labels),
        `${workload.kind} ${workload.metadata.name}`,
      ).toBe(true);
    }
    const selected = (selector: Labels | undefined) =>
      all
        .filter((workload) => selects(selector, workload.spec.template.metadata?.labels))
        .map((workload) => workload.metadata.name);
    for (const service of ofKind(objects, 'Service')) {
      const name = service.metadata?.name ?? '';
      expect(selected(service.spec?.selector), `Service ${name}`).toEqual([name]);
    }
    for (const budget of ofKind(objects, 'PodDisruptionBudget')) {
      const name = budget.metadata?.name ?? '';
      expect(selected(budget.spec?.selector?.matchLabels), `PDB ${name}`).toEqual([name]);
    }
  });

  test("Services send traffic to a port the pods' containers declare", () => {
    for (const service of ofKind(objects, 'Service')) {
      const pod = workloads(objects).find((w) =>
        selects(service.spec?.selector, w.spec.template.metadata?.labels),
      )?.spec.template.spec;
      const declared = pod?.containers.flatMap((c) => c.ports ?? []) ?? [];
      for (const port of service.spec?.ports ?? []) {
        expect(
          declared.some((d) => d.name === port.targetPort || d.containerPort === port.targetPort),
          `Service ${service.metadata?.name ?? ''} port ${port.port}`,
        ).toBe(true);
      }
    }
  });

  test('every ConfigMap, volume, claim and account a pod names exists', () => {
    const claims = new Set(
      ofKind(objects, 'PersistentVolumeClaim').map((claim) => claim.metadata?.name),
    );
    for (const workload of workloads(objects)) {
      const pod = workload.spec.template.spec;
      const where = `${workload.kind} ${workload.metadata.name}`;
      find(objects, 'ServiceAccount', pod.serviceAccountName ?? '(none)');
      const templates = (workload as unknown as IStatefulSet).spec?.volumeClaimTemplates ?? [];
      const volumes = new Set([
        ...(pod.volumes ?? []).map((volume) => volume.name),
        ...templates.map((template) => template.metadata?.name),
      ]);
      for (const volume of pod.volumes ?? []) {
        if (volume.persistentVolumeClaim !== undefined) {
          expect(claims.has(volume.persistentVolumeClaim.claimName), where).toBe(true);
        }
        if (volume.configMap !== undefined) find(objects, 'ConfigMap', volume.configMap.name);
      }
      for (const each of allContainers(pod)) {
        for (const mount of each.volumeMounts ?? []) {
          expect(volumes.has(mount.name), `${where} ${each.name} mounts ${mount.name}`).toBe(true);
        }
        for (const source of each.envFrom ?? []) {
          if (source.configMapRef !== undefined)
            find(objects, 'ConfigMap', source.configMapRef.name);
          // Secrets are the operator's to create: none is rendered.
          expect(source.secretRef, where).toBeUndefined();
        }
        for (const variable of each.env ?? []) {
          const secret = variable.valueFrom?.secretKeyRef;
          if (secret === undefined) continue;
          expect(secret.name, `${where} ${variable.name}`).toBe('zeus-secrets');
          // Only an external Redis's URL is required; the rest (HF_TOKEN) may be absent.
          expect(secret.optional ?? false, `${where} ${variable.name}`).toBe(
            variable.name !== 'REDIS_URL',
          );
        }
      }
    }
  });

  test('pods run unprivileged, without the Kubernetes API, on a read-only root', () => {
    for (const workload of workloads(objects)) {
      const pod = workload.spec.template.spec;
      const where = `${workload.kind} ${workload.metadata.name}`;
      expect(pod.automountServiceAccountToken, where).toBe(false);
      // Service links would set ZEUS_API_PORT=tcp://… (from the zeus-api Service): the API
      // server's own port setting, which it would then refuse.
      expect(pod.enableServiceLinks, where).toBe(false);
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.runAsUser ?? 0, where).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault');
      for (const volume of pod.volumes ?? []) {
        const types = Object.keys(volume).filter((key) => key !== 'name');
        expect(types, `${where} volume ${volume.name}`).toSatisfy((list: string[]) =>
          list.every((type) => ['configMap', 'emptyDir', 'persistentVolumeClaim'].includes(type)),
        );
      }
      for (const each of allContainers(pod)) {
        const context = each.securityContext;
        expect(context?.allowPrivilegeEscalation, `${where} ${each.name}`).toBe(false);
        expect(context?.readOnlyRootFilesystem, `${where} ${each.name}`).toBe(true);
        expect(context?.capabilities?.drop, `${where} ${each.name}`).toEqual(['ALL']);
        // The only one the restricted Pod Security Standard lets a pod add back.
        for (const added of context?.capabilities?.add ?? []) {
          expect(added, `${where} ${each.name}`).toBe('NET_BIND_SERVICE');
        }
        expect(context?.privileged ?? false, `${where} ${each.name}`).toBe(false);
      }
    }
  });

  test('every container has requests, a memory limit and a pinned image', () => {
    const images = new Set([...Object.values(variant.images), 'redis:7.4.6-alpine']);
    for (const workload of workloads(objects)) {
      for (const each of allContainers(workload.spec.template.spec)) {
        const where = `${workload.metadata.name} ${each.name}`;
        expect(each.resources?.requests?.['cpu'], where).toBeDefined();
        expect(each.resources?.requests?.['memory'], where).toBeDefined();
        expect(each.resources?.limits?.['memory'], where).toBeDefined();
        expect(images.has(each.image ?? ''), `${where} runs ${each.image ?? '(none)'}`).toBe(true);
      }
    }
  });
}
