/** The machine and options the Docker plan's tests start from (docker-plan.test.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DockerFacts, DockerOptions, Step } from '../docker-plan.ts';
import { REPOSITORY_ROOT } from '../local-stack.ts';

export const COMPOSE_FILE = readFileSync(join(REPOSITORY_ROOT, 'docker-compose.yml'), 'utf8');
export const GIB = 2 ** 30;

/** A GPU server where everything is in place and the weights are already downloaded. */
export function facts(overrides: Partial<DockerFacts> = {}): DockerFacts {
  return {
    engine: {
      cliInstalled: true,
      answers: true,
      problem: undefined,
      runtimes: ['io.containerd.runc.v2', 'nvidia', 'runc'],
      cdiDevices: [],
    },
    composeVersion: '2.29.1',
    nvidiaHookInstalled: true,
    hostGpus: 1,
    weightsPresent: true,
    legacyModelDir: undefined,
    modelFromHub: true,
    modelsDirFreeBytes: 500 * GIB,
    dockerFreeBytes: 200 * GIB,
    hostUser: { uid: 0, gid: 0 },
    unwritableDirs: [],
    existingOverride: undefined,
    ...overrides,
  };
}

export const OPTIONS: DockerOptions = {
  root: '/srv/zeus',
  composeFile: COMPOSE_FILE,
  gpus: undefined,
  model: 'ltxv-2b-0.9.6-distilled',
  port: 80,
  modelsDir: '/srv/zeus/models',
  generatedDir: '/srv/zeus/generated',
  nodeName: 'gpu-server-1',
};

export function dockerCommands(steps: readonly Step[]): string[] {
  return steps.flatMap((step) => (step.kind === 'docker' ? [step.args.join(' ')] : []));
}
