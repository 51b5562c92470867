/**
 * deploy/kustomize, rendered as `kubectl apply -k` renders it, for every overlay shipped and for
 * an operator's own: every object against the Kubernetes schemas, then what Zeus needs of them
 * (GPUs, probes, autoscaling, routing, volumes, the weights Job, Redis) and that each process
 * gets a configuration it accepts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '@zeus/core';
import { HEALTH_PATH, serverEnvironment } from '@zeus/server';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { workerEnvironment } from '@zeus/inference/worker-config';
import {
  allContainers,
  container,
  environment,
  find,
  generatedName,
  ofKind,
  selects,
  workloads,
  type Labels,
} from './manifests.ts';
import {
  checkKustomize,
  KUSTOMIZE_DIR,
  renderKustomization,
  renderOwnOverlay,
  type RenderedObject,
} from './render.ts';
import { schemaProblems, unknownFieldProblems } from './schema.ts';

interface Variant {
  readonly name: string;
  render(): Promise<RenderedObject[]>;
  readonly redis: 'in the cluster' | 'external';
  readonly workers: number;
  readonly volumeAccess: 'ReadWriteMany' | 'ReadWriteOnce';
  /** Where videos go: the zeus-generated volume, or a bucket (components/object-storage). */
  readonly videos?: 'volume' | 'bucket';
  /** The images the pods run, by the name the base gives them. */
  readonly images: Readonly<Record<'zeus-app' | 'zeus-inference' | 'zeus-caddy', string>>;
  /** What an overlay sets on the Ingress and the volumes (the base leaves them to the cluster). */
  readonly site?: {
    readonly ingressClassName: string;
    readonly host: string;
    readonly storageClassName: string;
  };
}

/** The overlay docs/operations/kubernetes.md shows, but for the path to deploy/kustomize. */
const DOCUMENTED_OVERLAY = `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {{kustomize}}/overlays/default
replicas:
  - name: zeus-worker
    count: 4
images:
  - name: zeus-app
    newName: registry.example.com/zeus-app
  - name: zeus-inference
    newName: registry.example.com/zeus-inference
  - name: zeus-caddy
    newName: registry.example.com/zeus-caddy
patches:
  - target:
      kind: Ingress
      name: zeus
    patch: |-
      - op: add
        path: /spec/ingressClassName
        value: nginx
      - op: add
        path: /spec/rules/0/host
        value: zeus.example.com
      - op: add
        path: /spec/tls
        value: [{ hosts: [zeus.example.com], secretName: zeus-tls }]
  - target:
      kind: PersistentVolumeClaim
      name: zeus-(models|generated)
    patch: |-
      - op: add
        path: /spec/storageClassName
        value: nfs-client
`;

const BASE_IMAGES = {
  'zeus-app': 'zeus-app:0.1.0',
  'zeus-inference': 'zeus-inference:0.1.0',
  'zeus-caddy': 'zeus-caddy:0.1.0',
};

const overlay = (name: string) => () => renderKustomization(join(KUSTOMIZE_DIR, 'overlays', name));

const VARIANTS: readonly Variant[] = [
  {
    name: 'overlays/default',
    render: overlay('default'),
    redis: 'in the cluster',
    workers: 1,
    volumeAccess: 'ReadWriteMany',
    images: BASE_IMAGES,
  },
  {
    name: 'overlays/four-gpus',
    render: overlay('four-gpus'),
    redis: 'in the cluster',
    workers: 4,
    volumeAccess: 'ReadWriteMany',
    images: BASE_IMAGES,
  },
  {
    name: 'overlays/external-redis',
    render: overlay('external-redis'),
    redis: 'external',
    workers: 1,
    volumeAccess: 'ReadWriteMany',
    images: BASE_IMAGES,
  },
  {
    name: 'overlays/object-storage',
    render: overlay('object-storage'),
    redis: 'in the cluster',
    workers: 1,
    volumeAccess: 'ReadWriteMany',
    videos: 'bucket',
    images: BASE_IMAGES,
  },
  {
    // What docs/operations/kubernetes.md tells an operator with one big GPU server to write.
    name: 'an own overlay: 7 GPUs on one node, images from a registry',
    render: () =>
      renderOwnOverlay(`
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {{kustomize}}/overlays/default
components:
  - {{kustomize}}/components/single-node-storage
replicas:
  - name: zeus-worker
    count: 7
images:
  - name: zeus-app
    newName: registry.example.com/studio/zeus-app
    newTag: "2.0"
  - name: zeus-inference
    newName: registry.example.com/studio/zeus-inference
    newTag: "2.0"
  - name: zeus-caddy
    newName: registry.example.com/studio/zeus-caddy
    newTag: "2.0"
`),
    redis: 'in the cluster',
    workers: 7,
    volumeAccess: 'ReadWriteOnce',
    images: {
      'zeus-app': 'registry.example.com/studio/zeus-app:2.0',
      'zeus-inference': 'registry.example.com/studio/zeus-inference:2.0',
      'zeus-caddy': 'registry.example.com/studio/zeus-caddy:2.0',
    },
  },
  {
    name: 'the documented overlay: 4 GPUs, a registry, a host with TLS, an NFS storage class',
    render: () => renderOwnOverlay(DOCUMENTED_OVERLAY),
    redis: 'in the cluster',
    workers: 4,
    volumeAccess: 'ReadWriteMany',
    images: {
      'zeus-app': 'registry.example.com/zeus-app:0.1.0',
      'zeus-inference': 'registry.example.com/zeus-inference:0.1.0',
      'zeus-caddy': 'registry.example.com/zeus-caddy:0.1.0',
    },
    site: { ingressClassName: 'nginx', host: 'zeus.example.com', storageClassName: 'nfs-client' },
  },
];

/** Stand-ins for what the cluster fills in: Secrets and the downward API. */
const EXTERNAL_REDIS_URL = 'rediss://:secret@redis.example.com:6380';
const POD_NAME = 'zeus-worker-5d9c7b8f6-x2x7q';
const fromCluster = (name: string): string | undefined =>
  ({
    REDIS_URL: EXTERNAL_REDIS_URL,
    ZEUS_WORKER_ID: POD_NAME,
    ZEUS_NODE_NAME: 'gpu-node-1',
    ZEUS_API_KEYS: 'studio:k8s-test-key-0123456789',
    HF_TOKEN: 'hf_0123456789abcdefghij',
  })[name];

beforeAll(async () => {
  await checkKustomize();
});

describe.each(VARIANTS)('$name', (variant) => {
  let objects: RenderedObject[] = [];
  beforeAll(async () => {
    objects = await variant.render();
  });

  const deployment = (name: string) => find(objects, 'Deployment', name);
  const podOf = (name: string) => {
    const pod = deployment(name).spec?.template.spec;
    if (pod === undefined) throw new Error(`Deployment ${name} has no pod spec`);
    return pod;
  };

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

  test('API servers: a Deployment the HorizontalPodAutoscaler scales on CPU, probed on /healthz', () => {
    const api = deployment('zeus-api');
    // The autoscaler owns the count: re-applying the manifests must not reset it.
    expect(api.spec?.replicas).toBeUndefined();
    const autoscaler = find(objects, 'HorizontalPodAutoscaler', 'zeus-api');
    expect(autoscaler.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'zeus-api',
    });
    expect(autoscaler.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(autoscaler.spec?.maxReplicas).toBeGreaterThan(autoscaler.spec?.minReplicas ?? 0);
    expect(autoscaler.spec?.metrics).toContainEqual({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
    });

    const server = container(podOf('zeus-api'), 'api');
    // CPU utilisation is measured against the request.
    expect(server.resources?.requests?.['cpu']).toBeDefined();
    const port = server.ports?.find((p) => p.name === 'http');
    const config = loadConfig(serverEnvironment, environment(objects, server, fromCluster));
    expect(port?.containerPort).toBe(config.ZEUS_API_PORT);
    expect(server.readinessProbe?.httpGet).toEqual({ path: HEALTH_PATH, port: 'http' });
    expect(server.livenessProbe?.tcpSocket).toEqual({ port: 'http' });
    expect(server.env?.find((v) => v.name === 'ZEUS_API_KEYS')?.valueFrom?.secretKeyRef).toEqual({
      name: 'zeus-secrets',
      key: 'ZEUS_API_KEYS',
      optional: true,
    });
    // SIGTERM: drain delay, then open requests' grace, inside the pod's grace period.
    const graceSeconds = podOf('zeus-api').terminationGracePeriodSeconds ?? 30;
    expect(config.ZEUS_DRAIN_DELAY_MS + config.ZEUS_SHUTDOWN_GRACE_MS).toBeLessThan(
      graceSeconds * 1000,
    );
    expect(find(objects, 'PodDisruptionBudget', 'zeus-api').spec?.maxUnavailable).toBe(1);
  });

  test(`workers: ${variant.workers} replicas, one GPU each, probed on their status server`, () => {
    const workers = deployment('zeus-worker');
    expect(workers.spec?.replicas).toBe(variant.workers);
    // Every GPU is in use: an update must not wait for an extra one.
    expect(workers.spec?.strategy?.rollingUpdate?.maxSurge).toBe(0);
    const pod = podOf('zeus-worker');
    const worker = container(pod, 'worker');
    expect(worker.resources?.requests?.['nvidia.com/gpu']).toBe(1);
    expect(worker.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(pod.tolerations).toContainEqual({
      key: 'nvidia.com/gpu',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    // Time to hand a job back to the queue after SIGTERM.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);

    const config = loadConfig(workerEnvironment, environment(objects, worker, fromCluster));
    expect(config.ZEUS_DEVICE).toBe('cuda');
    expect(config.ZEUS_WORKER_ID).toBe(POD_NAME);
    expect(worker.env?.find((v) => v.name === 'ZEUS_WORKER_ID')?.valueFrom?.fieldRef).toEqual({
      fieldPath: 'metadata.name',
    });
    // The `workers` query's host is the node, not the pod.
    expect(config.ZEUS_NODE_NAME).toBe('gpu-node-1');
    expect(worker.env?.find((v) => v.name === 'ZEUS_NODE_NAME')?.valueFrom?.fieldRef).toEqual({
      fieldPath: 'spec.nodeName',
    });

    // The probes ask the worker's status server, on the port it listens on, declared.
    expect(config.ZEUS_WORKER_HOST).toBe('0.0.0.0');
    expect(worker.ports).toEqual([
      { name: 'status', containerPort: config.ZEUS_WORKER_PORT, protocol: 'TCP' },
    ]);
    const httpGet = (path: string) => ({ httpGet: { path, port: 'status' } });
    // Ready once /healthz says it takes jobs (200; 503 while the model loads or Redis is down).
    expect(worker.readinessProbe).toMatchObject(httpGet('/healthz'));
    // Started and alive while it answers at all: /healthz is 503 during a first start's hour of
    // download and conversion, and while Redis is down, when a restart would not help.
    expect(worker.startupProbe).toMatchObject(httpGet('/metrics'));
    expect(worker.livenessProbe).toMatchObject(httpGet('/metrics'));
    for (const probe of [worker.startupProbe, worker.readinessProbe, worker.livenessProbe]) {
      expect(probe?.exec).toBeUndefined();
    }
    // Liveness gives a stuck worker minutes, not seconds.
    const liveness = worker.livenessProbe;
    expect(
      (liveness?.periodSeconds ?? 10) * (liveness?.failureThreshold ?? 3),
    ).toBeGreaterThanOrEqual(300);
    expect(pod.volumes?.find((v) => v.name === 'probe')).toBeUndefined();
    expect(pod.initContainers).toBeUndefined();

    // Models and videos where the configuration says, writable.
    expect(mountOf(worker, 'models')).toEqual({ path: '/models', readOnly: false });
    expect(environment(objects, worker, fromCluster)['ZEUS_MODELS_DIR']).toBe('/models');
    expect(claimOf(pod, 'models')).toBe('zeus-models');
    if (variant.videos === 'bucket') {
      expectBucket(worker, config);
      // The MP4 is finished in /tmp before it is uploaded.
      expect(mountOf(worker, 'tmp').path).toBe('/tmp');
      expect(pod.volumes?.find((v) => v.name === 'generated')).toBeUndefined();
    } else {
      expect(config.ZEUS_STORAGE).toBe('local');
      expect(mountOf(worker, 'generated')).toEqual({
        path: config.ZEUS_GENERATED_DIR,
        readOnly: false,
      });
      expect(claimOf(pod, 'generated')).toBe('zeus-generated');
    }

    // It fetches what is missing of the model's files itself (waiting for the Job's lock).
    expect(worker.env?.find((v) => v.name === 'HF_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: 'zeus-secrets',
      key: 'HF_TOKEN',
      optional: true,
    });

    expect(find(objects, 'PodDisruptionBudget', 'zeus-worker').spec?.maxUnavailable).toBe(1);
  });

  test('the weights Job downloads the model once, with the worker image and no GPU', () => {
    const job = find(objects, 'Job', 'zeus-weights');
    const pod = job.spec?.template.spec;
    if (pod === undefined) throw new Error('the Job has no pod spec');
    const fetch = container(pod, 'fetch');
    expect(fetch.command).toEqual(FETCH_COMMAND);
    expect(fetch.image).toBe(container(podOf('zeus-worker'), 'worker').image);
    expect(fetch.resources?.requests?.['nvidia.com/gpu']).toBeUndefined();
    expect(fetch.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    const env = environment(objects, fetch, fromCluster);
    expect(env['ZEUS_MODEL']).toBe(
      environment(objects, container(podOf('zeus-worker'), 'worker'), fromCluster)['ZEUS_MODEL'],
    );
    expect(mountOf(fetch, 'models')).toEqual({ path: env['ZEUS_MODELS_DIR'], readOnly: false });
    expect(claimOf(pod, 'models')).toBe('zeus-models');
    expect(fetch.env?.find((v) => v.name === 'HF_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: 'zeus-secrets',
      key: 'HF_TOKEN',
      optional: true,
    });
    expect(pod.restartPolicy).toBe('OnFailure');
    // A finished Job goes away, so the next apply can create it again with a new template.
    expect(job.spec?.ttlSecondsAfterFinished).toBeGreaterThan(0);
  });

  test('Caddy gets the settings its Caddyfile reads, and the videos the workers write', async () => {
    const caddyfile = await readFile(join(REPOSITORY_ROOT, 'Caddyfile'), 'utf8');
    const read = new Set([...caddyfile.matchAll(/\{\$(\w+)/g)].map((match) => match[1]));
    const pod = podOf('zeus-web');
    const caddy = container(pod, 'caddy');
    const env = environment(objects, caddy, fromCluster);
    for (const name of Object.keys(env)) expect(read, name).toContain(name);

    const api = find(objects, 'Service', 'zeus-api');
    expect(env['ZEUS_API_UPSTREAMS']).toBe(`zeus-api:${api.spec?.ports?.[0]?.port ?? '?'}`);
    expect(caddy.ports?.find((p) => p.name === 'http')?.containerPort).toBe(
      Number(env['ZEUS_PORT']),
    );
    if (variant.videos === 'bucket') {
      // /generated/… goes to the API servers, which answer it from the bucket.
      expect(env['ZEUS_STORAGE']).toBe('s3');
      expect(caddy.volumeMounts?.find((m) => m.name === 'generated')).toBeUndefined();
      expect(pod.volumes?.find((v) => v.name === 'generated')).toBeUndefined();
      const api = container(podOf('zeus-api'), 'api');
      expectBucket(api, loadConfig(serverEnvironment, environment(objects, api, fromCluster)));
    } else {
      expect(env['ZEUS_STORAGE']).toBeUndefined();
      expect(mountOf(caddy, 'generated')).toEqual({
        path: env['ZEUS_GENERATED_DIR'],
        readOnly: true,
      });
      expect(claimOf(pod, 'generated')).toBe('zeus-generated');
    }
    expect(caddy.readinessProbe?.httpGet).toEqual({ path: '/', port: 'http' });
    expect(caddy.livenessProbe?.httpGet).toEqual({ path: '/', port: 'http' });
  });

  test('the Ingress routes /graphql (WebSockets), /generated and / to Caddy', () => {
    const ingress = find(objects, 'Ingress', 'zeus');
    const web = find(objects, 'Service', 'zeus-web');
    const routes = (ingress.spec?.rules ?? []).flatMap((rule) => rule.http?.paths ?? []);
    expect(routes.map((route) => [route.path, route.pathType])).toEqual([
      ['/graphql', 'Prefix'],
      ['/generated', 'Prefix'],
      ['/', 'Prefix'],
    ]);
    for (const route of routes) {
      expect(route.backend.service?.name).toBe('zeus-web');
      expect(web.spec?.ports?.map((p) => p.name)).toContain(route.backend.service?.port?.name);
    }
    const annotations = ingress.metadata?.annotations ?? {};
    // ingress-nginx cuts a WebSocket idle for 60 s by default.
    expect(
      Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']),
    ).toBeGreaterThanOrEqual(3600);
    expect(annotations['projectcontour.io/websocket-routes']).toBe('/graphql');
    expect(ingress.spec?.ingressClassName).toBe(variant.site?.ingressClassName);
    expect(ingress.spec?.rules?.map((rule) => rule.host)).toEqual([variant.site?.host]);
    if (variant.site !== undefined) {
      expect(ingress.spec?.tls).toEqual([{ hosts: [variant.site.host], secretName: 'zeus-tls' }]);
    }
  });

  test('only Caddy reaches the API servers, which trust its X-Forwarded-For (issue 15)', () => {
    const policy = find(objects, 'NetworkPolicy', 'zeus-api');
    expect(
      selects(
        policy.spec?.podSelector.matchLabels,
        deployment('zeus-api').spec?.template.metadata?.labels,
      ),
    ).toBe(true);
    expect(policy.spec?.policyTypes).toEqual(['Ingress']);
    const rules = policy.spec?.ingress ?? [];
    expect(rules).toHaveLength(1);
    const from = rules[0]?.from ?? [];
    expect(from).toHaveLength(1);
    const allowed = from[0]?.podSelector?.matchLabels;
    expect(selects(allowed, deployment('zeus-web').spec?.template.metadata?.labels)).toBe(true);
    for (const name of ['zeus-api', 'zeus-worker']) {
      expect(selects(allowed, deployment(name).spec?.template.metadata?.labels), name).toBe(false);
    }
    expect(rules[0]?.ports).toEqual([{ port: 4000 }]);
  });

  test(`models and videos are on ${variant.volumeAccess} volumes`, () => {
    const claims =
      variant.videos === 'bucket' ? ['zeus-models'] : ['zeus-generated', 'zeus-models'];
    expect(
      ofKind(objects, 'PersistentVolumeClaim')
        .map((claim) => claim.metadata?.name)
        .sort(),
    ).toEqual(claims);
    for (const name of claims) {
      const claim = find(objects, 'PersistentVolumeClaim', name);
      expect(claim.spec?.accessModes, name).toEqual([variant.volumeAccess]);
      expect(claim.spec?.storageClassName, name).toBe(variant.site?.storageClassName);
    }
  });

  if (variant.redis === 'in the cluster') {
    test('Redis: a StatefulSet on its own volume, durable and never evicting', () => {
      const redis = find(objects, 'StatefulSet', 'zeus-redis');
      const pod = redis.spec?.template.spec;
      if (pod === undefined) throw new Error('no pod spec');
      const server = container(pod, 'redis');
      const args = server.args ?? [];
      const option = (name: string) => args[args.indexOf(`--${name}`) + 1];
      expect(option('appendonly')).toBe('yes');
      expect(option('appendfsync')).toBe('everysec');
      expect(option('maxmemory-policy')).toBe('noeviction');
      expect(option('maxmemory')).toBe('1gb');
      const [template] = redis.spec?.volumeClaimTemplates ?? [];
      expect(template?.spec?.accessModes).toEqual(['ReadWriteOnce']);
      expect(mountOf(server, template?.metadata?.name ?? '?')).toEqual({
        path: option('dir'),
        readOnly: false,
      });
      expect(server.readinessProbe?.exec?.command).toEqual(['redis-cli', 'ping']);

      // Every Zeus process is pointed at its Service.
      const service = find(objects, 'Service', 'zeus-redis');
      const url = `redis://zeus-redis:${service.spec?.ports?.[0]?.port ?? '?'}`;
      for (const name of ['zeus-api', 'zeus-worker']) {
        const first = podOf(name).containers[0];
        if (first === undefined) throw new Error(`${name} has no container`);
        expect(environment(objects, first, fromCluster)['REDIS_URL'], name).toBe(url);
      }
      // Only Zeus's pods may connect.
      const policy = find(objects, 'NetworkPolicy', 'zeus-redis');
      expect(
        selects(policy.spec?.podSelector.matchLabels, redis.spec?.template.metadata?.labels),
      ).toBe(true);
      const allowed = policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels;
      for (const name of ['zeus-api', 'zeus-worker']) {
        expect(selects(allowed, deployment(name).spec?.template.metadata?.labels), name).toBe(true);
      }
    });
  } else {
    test('external Redis: none in the cluster, its URL from the Secret', () => {
      expect(objects.filter((o) => o.metadata.name === 'zeus-redis')).toEqual([]);
      expect(
        find(objects, 'ConfigMap', generatedName(objects, 'zeus-config')).data,
      ).not.toHaveProperty('REDIS_URL');
      for (const name of ['zeus-api', 'zeus-worker']) {
        const first = podOf(name).containers[0];
        if (first === undefined) throw new Error(`${name} has no container`);
        expect(first.env?.find((v) => v.name === 'REDIS_URL')?.valueFrom, name).toEqual({
          secretKeyRef: { name: 'zeus-secrets', key: 'REDIS_URL' },
        });
        expect(environment(objects, first, fromCluster)['REDIS_URL'], name).toBe(
          EXTERNAL_REDIS_URL,
        );
      }
    });
  }

  test('zeus-config holds only settings Zeus reads', () => {
    const config = find(objects, 'ConfigMap', generatedName(objects, 'zeus-config'));
    for (const name of Object.keys(config.data ?? {})) {
      expect(KNOWN_SETTINGS, name).toContain(name);
    }
  });
});

/** `npm run models -- fetch` as the worker image (Node, no npm) runs it (the weights Job). */
const FETCH_COMMAND = ['node', '--import', 'tsx', 'models/src/cli.ts', 'fetch'];

/** What the API servers and the workers read, and ZEUS_MODELS_DIR (the model store's). */
const KNOWN_SETTINGS = [
  ...Object.keys(serverEnvironment.shape),
  ...Object.keys(workerEnvironment.shape),
  'ZEUS_MODELS_DIR',
];

/** A container that stores videos in the bucket: the settings, and credentials from the Secret. */
function expectBucket(
  target: IContainer,
  config: { ZEUS_STORAGE: string; ZEUS_S3_BUCKET?: string | undefined },
): void {
  expect(config.ZEUS_STORAGE).toBe('s3');
  expect(config.ZEUS_S3_BUCKET).toBe('zeus-videos');
  for (const key of ['ZEUS_S3_ACCESS_KEY_ID', 'ZEUS_S3_SECRET_ACCESS_KEY']) {
    expect(target.env?.find((v) => v.name === key)?.valueFrom?.secretKeyRef, key).toEqual({
      name: 'zeus-secrets',
      key,
      optional: true,
    });
  }
}

function mountOf(
  target: IContainer,
  volume: string,
): { path: string | undefined; readOnly: boolean } {
  const mount = target.volumeMounts?.find((m) => m.name === volume);
  return { path: mount?.mountPath, readOnly: mount?.readOnly ?? false };
}

function claimOf(pod: IPodSpec, volume: string): string | undefined {
  return pod.volumes?.find((v) => v.name === volume)?.persistentVolumeClaim?.claimName;
}
