/**
 * The kustomizations tests/k8s/kustomize.int.test.ts renders: every overlay shipped and an
 * operator's own, with what each is expected to give, and the stand-ins for what the cluster
 * fills in (Secrets, the downward API).
 */
import { join } from 'node:path';
import {
  KUSTOMIZE_DIR,
  renderKustomization,
  renderOwnOverlay,
  type RenderedObject,
} from './render.ts';

export interface Variant {
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
export const DOCUMENTED_OVERLAY = `
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

export const BASE_IMAGES = {
  'zeus-app': 'zeus-app:0.1.0',
  'zeus-inference': 'zeus-inference:0.1.0',
  'zeus-caddy': 'zeus-caddy:0.1.0',
};

const overlay = (name: string) => () => renderKustomization(join(KUSTOMIZE_DIR, 'overlays', name));

export const VARIANTS: readonly Variant[] = [
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
export const EXTERNAL_REDIS_URL = 'rediss://:secret@redis.example.com:6380';
export const POD_NAME = 'zeus-worker-5d9c7b8f6-x2x7q';
export const fromCluster = (name: string): string | undefined =>
  ({
    REDIS_URL: EXTERNAL_REDIS_URL,
    ZEUS_WORKER_ID: POD_NAME,
    ZEUS_NODE_NAME: 'gpu-node-1',
    ZEUS_API_KEYS: 'studio:k8s-test-key-0123456789',
    HF_TOKEN: 'hf_0123456789abcdefghij',
  })[name];
