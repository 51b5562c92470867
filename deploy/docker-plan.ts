/**
 * What `deploy.ts` does, decided from facts about the machine: pure, so every decision is
 * tested without Docker. `chooseMode` picks Docker or local processes; `planDockerDeployment`
 * turns the facts and options into what is missing (problems) and the steps to run; the
 * executor (docker-deploy.ts) runs the steps, and `--dry-run` prints them (`describePlan`).
 */
import { join, relative } from 'node:path';
import { composeOverride, OVERRIDE_FILE } from './compose-override.ts';

export type DeployMode = 'docker' | 'local';

export interface ModeChoice {
  readonly mode: DeployMode;
  /** Why, when it was not asked for explicitly. */
  readonly note: string | undefined;
}

/** `--local` and `--docker` decide; otherwise Docker when an engine answers, else local. */
export function chooseMode(
  flags: { readonly local: boolean; readonly docker: boolean },
  engine: { readonly answers: boolean; readonly problem: string | undefined },
): ModeChoice {
  if (flags.local) return { mode: 'local', note: undefined };
  if (flags.docker || engine.answers) return { mode: 'docker', note: undefined };
  return {
    mode: 'local',
    note:
      `No Docker engine answered (${engine.problem ?? 'docker info failed'}), so Zeus runs as ` +
      'local processes (--local). Use --docker to see what Docker mode needs.',
  };
}

/** The oldest Compose v2 this deployment is written for (`--wait`, health conditions). */
export const MIN_COMPOSE_VERSION = '2.20.0';
/** The uid:gid the images run as; the host folders are given to it when deploy.ts runs as root. */
export const IMAGE_USER = { uid: 10001, gid: 10001 } as const;
/** Free space the model files need: the weights (~26 GB) and the ONNX graphs made from them. */
export const MODEL_DISK_BYTES = 40 * 2 ** 30;
/** The lock the model downloader holds in the model's folder (models/src/store/model-files.ts). */
export const MODEL_LOCK_FILE = '.zeus-files.lock';
/** Free space the images need where Docker keeps them (the CUDA base image is most of it). */
export const IMAGES_DISK_BYTES = 15 * 2 ** 30;

/** What deploy.ts found out about the machine (docker-facts.ts gathers it). */
export interface DockerFacts {
  readonly engine: {
    readonly cliInstalled: boolean;
    readonly answers: boolean;
    readonly problem: string | undefined;
    readonly runtimes: readonly string[];
    readonly cdiDevices: readonly string[];
  };
  /** `docker compose version`; undefined when the Compose v2 plugin is missing. */
  readonly composeVersion: string | undefined;
  /** The NVIDIA Container Toolkit's hook is on the host's PATH. */
  readonly nvidiaHookInstalled: boolean;
  /** GPUs `nvidia-smi -L` lists; undefined when nvidia-smi is missing. */
  readonly hostGpus: number | undefined;
  /** The model's files are all in place and verified (in `legacyModelDir` when there is one). */
  readonly weightsPresent: boolean;
  /**
   * The model's folder as an older Zeus left it, `models/cache/<model>`, to move into the models
   * folder (which it is when ZEUS_MODELS_DIR is unset and the model has no folder there yet).
   */
  readonly legacyModelDir: string | undefined;
  /** The model is downloaded from the Hub (false: generated, like tiny-random). */
  readonly modelFromHub: boolean;
  /** Free bytes where the model files go; undefined when unknown. */
  readonly modelsDirFreeBytes: number | undefined;
  /** Free bytes where Docker keeps images; undefined when unknown. */
  readonly dockerFreeBytes: number | undefined;
  /** Who runs deploy.ts. */
  readonly hostUser: { readonly uid: number; readonly gid: number };
  /** Host folders the containers write to that this user cannot write (non-root only). */
  readonly unwritableDirs: readonly string[];
  /** docker-compose.override.yml as it is now; undefined when there is none. */
  readonly existingOverride: string | undefined;
}

export interface DockerOptions {
  /** The repository root: the compose project directory. */
  readonly root: string;
  /** docker-compose.yml's text. */
  readonly composeFile: string;
  /** `--gpus N`; undefined: one worker per GPU nvidia-smi lists. */
  readonly gpus: number | undefined;
  readonly model: string;
  /** The port Zeus answers on (Caddy's, on the host). */
  readonly port: number;
  /** Host folders, absolute. */
  readonly modelsDir: string;
  readonly generatedDir: string;
  /**
   * The machine the workers report in the `workers` query (`ZEUS_NODE_NAME`): this host's name.
   * A container's own host name is its id, which says nothing once several servers share a queue.
   */
  readonly nodeName: string;
}

export type Step =
  | {
      readonly kind: 'mkdir';
      readonly paths: readonly string[];
      /** Give them (recursively) to this uid:gid: deploy.ts runs as root. */
      readonly chown: { readonly uid: number; readonly gid: number } | undefined;
    }
  /** Moves a folder (a rename: the same disk). */
  | { readonly kind: 'move'; readonly from: string; readonly to: string }
  | { readonly kind: 'write-file'; readonly path: string; readonly content: string }
  | { readonly kind: 'remove-file'; readonly path: string }
  | {
      readonly kind: 'docker';
      readonly args: readonly string[];
      /** What the step does, for the log. */
      readonly title: string;
    }
  | {
      /**
       * Downloads the model files with the progress bar in this terminal; the workers are
       * started as soon as the download holds the model folder's lock, so they wait for it and
       * the web app says the model is being fetched.
       */
      readonly kind: 'fetch-model';
      readonly args: readonly string[];
      readonly title: string;
      /** The lock file the download creates in the model's folder. */
      readonly lockFile: string;
      /** The command that starts the workers. */
      readonly startWorkers: readonly string[];
    }
  | { readonly kind: 'wait-web'; readonly url: string }
  | {
      readonly kind: 'wait-model';
      readonly url: string;
      /** Workers that must be online with the model loaded. */
      readonly workers: number;
      /** Their compose services, watched for crashes meanwhile. */
      readonly services: readonly string[];
    };

export interface DockerPlan {
  /** What is missing, each with what to do; nothing runs while there are any. */
  readonly problems: readonly string[];
  /** Environment the compose commands get (absolute host folders, the port, the model). */
  readonly composeEnv: Readonly<Record<string, string>>;
  readonly steps: readonly Step[];
  /** Where Zeus answers once it is done. */
  readonly url: string;
  readonly workers: number;
}

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** The problems with the machine and options, each saying exactly what to do. */
function findProblems(facts: DockerFacts, options: DockerOptions, workers: number): string[] {
  const problems: string[] = [];
  const { engine } = facts;
  if (!engine.cliInstalled) {
    problems.push(
      'Docker is not installed: install Docker Engine (https://docs.docker.com/engine/install/), ' +
        'or run Zeus as local processes with --local.',
    );
  } else if (!engine.answers) {
    problems.push(
      `The Docker engine does not answer (${engine.problem ?? 'docker info failed'}): start it ` +
        '(systemctl start docker), and make sure this user may use it (root, or the docker group).',
    );
  }
  if (engine.cliInstalled) {
    if (facts.composeVersion === undefined) {
      problems.push(
        'Docker Compose v2 is missing (`docker compose version` failed): install the Compose ' +
          'plugin (the docker-compose-plugin package; https://docs.docker.com/compose/install/linux/).',
      );
    } else if (!versionAtLeast(facts.composeVersion, MIN_COMPOSE_VERSION)) {
      problems.push(
        `Docker Compose ${facts.composeVersion} is too old: Zeus needs ${MIN_COMPOSE_VERSION} or ` +
          'later (update the docker-compose-plugin package).',
      );
    }
  }
  const toolkit =
    facts.nvidiaHookInstalled ||
    engine.runtimes.includes('nvidia') ||
    engine.cdiDevices.some((device) => device.startsWith('nvidia.com/gpu'));
  if (!toolkit) {
    problems.push(
      'The NVIDIA Container Toolkit is missing (no nvidia-container-runtime-hook, and the engine ' +
        'lists no nvidia runtime): install nvidia-container-toolkit, then run ' +
        '`nvidia-ctk runtime configure --runtime=docker` and restart Docker ' +
        '(https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html).',
    );
  }
  if (facts.hostGpus === 0) {
    problems.push('nvidia-smi lists no GPU: the worker needs an NVIDIA GPU and its driver.');
  } else if (facts.hostGpus === undefined && !toolkit) {
    problems.push(
      'nvidia-smi was not found: install the NVIDIA driver (it brings nvidia-smi) for the GPU.',
    );
  }
  if (options.gpus !== undefined && facts.hostGpus !== undefined && options.gpus > facts.hostGpus) {
    problems.push(
      `--gpus ${options.gpus} asks for more GPUs than nvidia-smi lists (${facts.hostGpus}).`,
    );
  }
  if (
    !facts.weightsPresent &&
    facts.modelFromHub &&
    facts.modelsDirFreeBytes !== undefined &&
    facts.modelsDirFreeBytes < MODEL_DISK_BYTES
  ) {
    problems.push(
      `Not enough free disk for the model files in ${options.modelsDir}: ${gib(MODEL_DISK_BYTES)} ` +
        `needed, ${gib(facts.modelsDirFreeBytes)} free. Free some space, or set ZEUS_MODELS_DIR ` +
        'to a folder on a larger disk.',
    );
  }
  if (facts.dockerFreeBytes !== undefined && facts.dockerFreeBytes < IMAGES_DISK_BYTES) {
    problems.push(
      `Not enough free disk for the images where Docker keeps them: ${gib(IMAGES_DISK_BYTES)} ` +
        `needed, ${gib(facts.dockerFreeBytes)} free.`,
    );
  }
  for (const dir of facts.unwritableDirs) {
    problems.push(
      `${dir} is not writable by this user (uid ${facts.hostUser.uid}), whom the containers run ` +
        `as: chown -R ${facts.hostUser.uid}:${facts.hostUser.gid} ${dir}, or run deploy.ts as root.`,
    );
  }
  if (facts.existingOverride !== undefined && composeOverride.isOurs(facts.existingOverride)) {
    // deploy.ts wrote it: it is rewritten as needed below.
  } else if (facts.existingOverride !== undefined) {
    problems.push(
      `${OVERRIDE_FILE} exists and was not written by deploy.ts, which needs that file for the ` +
        `GPUs and the containers' user: move your settings elsewhere (for example ` +
        `docker-compose.local.yml with COMPOSE_FILE) and remove it.`,
    );
  }
  if (workers < 1) problems.push('--gpus must be at least 1.');
  return problems;
}

/** Decides everything Docker mode does. */
export function planDockerDeployment(facts: DockerFacts, options: DockerOptions): DockerPlan {
  const workers = options.gpus ?? Math.max(1, facts.hostGpus ?? 1);
  const problems = findProblems(facts, options, workers);
  const root = options.root;
  const url = `http://localhost:${options.port}`;
  const composeEnv = {
    ZEUS_MODEL: options.model,
    ZEUS_PORT: String(options.port),
    ZEUS_MODELS_DIR: options.modelsDir,
    ZEUS_GENERATED_DIR: options.generatedDir,
    ZEUS_NODE_NAME: options.nodeName,
  };
  const asRoot = facts.hostUser.uid === 0;
  const workerServices = Array.from({ length: Math.max(workers, 1) }, (_, i) =>
    i === 0 ? 'inference' : `inference-${i + 1}`,
  );

  const modelDir = join(options.modelsDir, options.model);
  const steps: Step[] = [];
  if (facts.legacyModelDir !== undefined) {
    steps.push({ kind: 'move', from: facts.legacyModelDir, to: modelDir });
  }
  // The containers mount the model's folder alone: the models folder around it (the repository's
  // models/ by default, with the @zeus/models sources) is neither theirs nor given to them.
  steps.push({
    kind: 'mkdir',
    paths: [modelDir, options.generatedDir],
    chown: asRoot ? IMAGE_USER : undefined,
  });
  const override = composeOverride.generate(options.composeFile, {
    workers,
    user: asRoot ? undefined : facts.hostUser,
  });
  const overridePath = join(root, OVERRIDE_FILE);
  if (override === undefined) {
    if (facts.existingOverride !== undefined)
      steps.push({ kind: 'remove-file', path: overridePath });
  } else if (override !== facts.existingOverride) {
    steps.push({ kind: 'write-file', path: overridePath, content: override });
  }
  steps.push({ kind: 'docker', args: ['compose', 'build'], title: 'Building the images' });
  steps.push({
    kind: 'docker',
    args: ['compose', 'up', '--detach', '--wait', 'redis', 'app1', 'app2', 'app3', 'caddy'],
    title: 'Starting Redis, the API servers and Caddy',
  });
  steps.push({ kind: 'wait-web', url });
  const startWorkers = ['compose', 'up', '--detach', '--remove-orphans'];
  const workersTitle = `Starting ${workers === 1 ? 'the worker' : `${workers} workers, one per GPU`}`;
  if (facts.weightsPresent) {
    steps.push({ kind: 'docker', args: startWorkers, title: workersTitle });
  } else {
    steps.push({
      kind: 'fetch-model',
      args: ['compose', 'run', '--rm', 'fetch-model'],
      title: `Fetching the ${options.model} model files into ${relativeTo(root, modelDir)}`,
      lockFile: join(modelDir, MODEL_LOCK_FILE),
      startWorkers,
    });
  }
  steps.push({ kind: 'wait-model', url, workers, services: workerServices });
  return { problems, composeEnv, steps, url, workers };
}

function relativeTo(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === '' || rel.startsWith('..') ? path : `${rel}/`;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** The plan as the commands it runs, for `--dry-run`. */
export function describePlan(plan: DockerPlan): string {
  const lines: string[] = [];
  if (plan.problems.length > 0) {
    lines.push('Missing before Zeus can run with Docker:');
    for (const problem of plan.problems) lines.push(`  - ${problem}`);
    lines.push('', 'Once that is done, deploy.ts runs:');
  } else {
    lines.push('deploy.ts would run:');
  }
  const env = Object.entries(plan.composeEnv)
    .map(([name, value]) => `${name}=${shellQuote(value)}`)
    .join(' ');
  lines.push(`  export ${env}`);
  for (const step of plan.steps) {
    switch (step.kind) {
      case 'mkdir':
        lines.push(`  mkdir -p ${step.paths.map(shellQuote).join(' ')}`);
        if (step.chown !== undefined) {
          const owner = `${step.chown.uid}:${step.chown.gid}`;
          lines.push(`  chown -R ${owner} ${step.paths.map(shellQuote).join(' ')}`);
        }
        break;
      case 'move':
        lines.push(`  mv ${shellQuote(step.from)} ${shellQuote(step.to)}`);
        break;
      case 'write-file':
        lines.push(`  # write ${step.path}:`);
        for (const line of step.content.trimEnd().split('\n')) lines.push(`  #   ${line}`);
        break;
      case 'remove-file':
        lines.push(`  rm ${shellQuote(step.path)}`);
        break;
      case 'docker':
        lines.push(`  docker ${step.args.map(shellQuote).join(' ')}`);
        break;
      case 'fetch-model':
        lines.push(`  docker ${step.args.map(shellQuote).join(' ')}`);
        lines.push(
          `  docker ${step.startWorkers.map(shellQuote).join(' ')}  ` +
            `# as soon as the download holds ${step.lockFile}`,
        );
        break;
      case 'wait-web':
        lines.push(
          `  # wait until ${step.url}/graphql answers (the web app says the model is loading)`,
        );
        break;
      case 'wait-model':
        lines.push(
          `  # wait until ${step.workers} worker(s) report the model ready at ${step.url}/graphql, ` +
            `then print "Deployment complete."`,
        );
        break;
    }
  }
  return lines.join('\n');
}
