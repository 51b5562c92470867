/**
 * docker-compose.override.yml, which compose reads after docker-compose.yml by itself (so
 * `docker compose ps`, `logs -f`, `up` and `down` all see it), holds what depends on the machine:
 *
 * - one more worker service per extra GPU: `inference-2` on GPU 1, `inference-3` on GPU 2, …,
 *   each a copy of `inference` (GPU 0) pinned to its device. Compose's `--scale` cannot pin
 *   replicas to different devices, hence services;
 * - the user the containers that write host folders run as, when deploy.ts is not run as root
 *   (the user running it, who owns those folders).
 *
 * Pure: made from docker-compose.yml's text, so the copies follow it.
 */
import { parse, stringify } from 'yaml';

export const OVERRIDE_FILE = 'docker-compose.override.yml';

const HEADER =
  '# Written by deploy.ts for this machine (it rewrites or removes this file on each run; do\n' +
  '# not edit). Compose reads it after docker-compose.yml.\n';

/** Services whose containers read or write the host's folders. */
const HOST_FOLDER_SERVICES = ['app1', 'app2', 'app3', 'inference', 'fetch-model'];

export interface OverrideOptions {
  /** Worker services, one per GPU (at least 1). */
  readonly workers: number;
  /** Run the containers that use host folders as this uid:gid (undefined: the images' user). */
  readonly user: { readonly uid: number; readonly gid: number } | undefined;
}

type Service = Record<string, unknown>;

function inferenceService(composeFile: string): Service {
  const compose = parse(composeFile, { merge: true }) as {
    services?: Record<string, Service | undefined>;
  };
  const inference = compose.services?.['inference'];
  if (inference === undefined) throw new Error('docker-compose.yml has no inference service');
  return inference;
}

/** The worker id of the container on GPU `gpu` (0-based), as docker-compose.yml names GPU 0's. */
export function workerIdOnGpu(gpu: number): string {
  return `inference-${gpu + 1}`;
}

/** `inference` moved to GPU `gpu` (0-based) under worker id inference-<gpu + 1>. */
function workerOnGpu(base: Service, gpu: number): Service {
  const copy = structuredClone(base);
  const environment = copy['environment'] as Record<string, unknown>;
  environment['ZEUS_WORKER_ID'] = workerIdOnGpu(gpu);
  const deploy = copy['deploy'] as {
    resources: { reservations: { devices: { device_ids: string[] }[] } };
  };
  for (const device of deploy.resources.reservations.devices) device.device_ids = [String(gpu)];
  return copy;
}

function generate(composeFile: string, options: OverrideOptions): string | undefined {
  if (options.workers <= 1 && options.user === undefined) return undefined;
  const services: Record<string, Service> = {};
  if (options.user !== undefined) {
    const user = `${options.user.uid}:${options.user.gid}`;
    for (const name of HOST_FOLDER_SERVICES) services[name] = { user };
  }
  if (options.workers > 1) {
    const base = inferenceService(composeFile);
    for (let gpu = 1; gpu < options.workers; gpu++) {
      const worker = workerOnGpu(base, gpu);
      if (options.user !== undefined) {
        worker['user'] = `${options.user.uid}:${options.user.gid}`;
      }
      services[`inference-${gpu + 1}`] = worker;
    }
  }
  return HEADER + stringify({ services }, { lineWidth: 0 });
}

export const composeOverride = {
  generate,
  /** True when deploy.ts wrote this text (so it may rewrite or remove it). */
  isOurs: (text: string): boolean => text.startsWith(HEADER),
};
