/**
 * What each part of Zeus gets from a kustomization (kustomize.int.test.ts): the API servers,
 * the workers, the weights Job, Caddy, the Ingress, network policy, volumes and Redis, and a
 * configuration each process accepts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadConfig } from '@zeus/core';
import { HEALTH_PATH, serverEnvironment } from '@zeus/server';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { workerEnvironment } from '@zeus/inference/worker-config';
import { container, environment, find, generatedName, ofKind, selects } from './manifests.ts';
import type { RenderedObject } from './render.ts';
import { type Variant, EXTERNAL_REDIS_URL, POD_NAME, fromCluster } from './variants.ts';

/** The tests of one variant's workloads, rendered into `objects` before they run. */
export function workloadChecks(variant: Variant, objects: readonly RenderedObject[]): void {
  const deployment = (name: string) => find(objects, 'Deployment', name);
  const podOf = (name: string) => {
    const pod = deployment(name).spec?.template.spec;
    if (pod === undefined) throw new Error(`Deployment ${name} has no pod spec`);
    return pod;
  };

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
}

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
