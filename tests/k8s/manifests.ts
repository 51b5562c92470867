/**
 * Typed access to rendered manifests for the tests: find an object by kind and name, walk a
 * workload's pod spec, resolve what a container's environment will be.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { RenderedObject } from './render.ts';

/** The kinds the manifests hold, with their types (checked against the schemas first). */
export interface Kinds {
  Namespace: INamespace;
  ServiceAccount: IServiceAccount;
  ConfigMap: IConfigMap;
  Service: IService;
  PersistentVolumeClaim: IPersistentVolumeClaim;
  Deployment: IDeployment;
  StatefulSet: IStatefulSet;
  Job: IJob;
  HorizontalPodAutoscaler: IHorizontalPodAutoscaler;
  PodDisruptionBudget: IPodDisruptionBudget;
  Ingress: IIngress;
  NetworkPolicy: INetworkPolicy;
}

export type Labels = Readonly<Record<string, string>>;

/** The object of this kind and name; fails the test when there is none. */
export function find<Kind extends keyof Kinds>(
  objects: readonly RenderedObject[],
  kind: Kind,
  name: string | undefined,
): Kinds[Kind] {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) {
    throw new Error(`no ${kind} named ${name ?? '(none)'} in the rendered manifests`);
  }
  return found as unknown as Kinds[Kind];
}

export function ofKind<Kind extends keyof Kinds>(
  objects: readonly RenderedObject[],
  kind: Kind,
): Kinds[Kind][] {
  return objects.filter((object) => object.kind === kind) as unknown as Kinds[Kind][];
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'];

/** A Deployment, StatefulSet or Job, with what every one of them has. */
export interface Workload {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly replicas?: number;
    readonly selector?: { readonly matchLabels?: Labels };
    readonly template: {
      readonly metadata?: { readonly labels?: Labels };
      readonly spec: IPodSpec;
    };
  };
}

export function workloads(objects: readonly RenderedObject[]): Workload[] {
  return objects.filter((object) => WORKLOAD_KINDS.includes(object.kind)) as unknown as Workload[];
}

export function allContainers(pod: IPodSpec): IContainer[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

export function container(pod: IPodSpec, name: string): IContainer {
  const found = allContainers(pod).find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
}

/** True when every label of `selector` is among `labels`. */
export function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

/**
 * The container's environment as Kubernetes builds it: `envFrom` ConfigMaps in order, then
 * `env`. Values from Secrets and the downward API are not known here: they are given by
 * `valueFrom`, a function of the variable's name.
 */
export function environment(
  objects: readonly RenderedObject[],
  target: IContainer,
  valueFrom: (name: string) => string | undefined,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const source of target.envFrom ?? []) {
    if (source.configMapRef === undefined) continue;
    Object.assign(env, find(objects, 'ConfigMap', source.configMapRef.name).data);
  }
  for (const variable of target.env ?? []) {
    env[variable.name] =
      variable.valueFrom === undefined ? variable.value : valueFrom(variable.name);
  }
  return env;
}

/** The rendered name of a generated ConfigMap (`zeus-config` becomes `zeus-config-<hash>`). */
export function generatedName(objects: readonly RenderedObject[], name: string): string {
  const matches = objects.filter(
    (object) =>
      object.kind === 'ConfigMap' &&
      new RegExp(`^${name}-[a-z0-9]{10}$`).test(object.metadata.name),
  );
  if (matches.length !== 1) throw new Error(`${matches.length} ConfigMaps generated as ${name}`);
  return matches[0]!.metadata.name;
}
