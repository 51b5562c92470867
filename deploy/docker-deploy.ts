/**
 * `deploy.ts` in Docker mode: reads the settings, gathers the facts, plans (docker-plan.ts), and
 * runs the plan, or prints it with --dry-run. Every step is safe to run again: folders and the
 * override file are only made when missing or different, images build from cache, `compose up`
 * leaves unchanged containers alone, and the model files are fetched only when missing.
 */
import { existsSync, watch } from 'node:fs';
import { lchown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '@zeus/core';
import {
  captureDocker,
  dockerOutput,
  parseComposePs,
  runDocker,
  type ComposeContainer,
  type EngineInfo,
} from './docker-cli.ts';
import { workerIdOnGpu } from './compose-override.ts';
import { loadDockerDeployConfig } from './docker-config.ts';
import { gatherDockerFacts } from './docker-facts.ts';
import { describePlan, planDockerDeployment, type DockerPlan, type Step } from './docker-plan.ts';
import { REPOSITORY_ROOT } from './local-stack.ts';

export interface DockerDeployOptions {
  readonly dryRun: boolean;
  readonly gpus: number | undefined;
  readonly engine: EngineInfo;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** How long the stack may take to answer once its containers are up. */
const WEB_TIMEOUT_MS = 5 * 60_000;
/** How long the workers may take to load the model (a first start converts it to ONNX). */
const MODEL_TIMEOUT_MS = 60 * 60_000;
const POLL_MS = 2_000;
/** Container states checked every this many polls while waiting for the model. */
const CRASH_CHECK_EVERY = 5;

/** Returns the exit code. */
export async function deployWithDocker(options: DockerDeployOptions): Promise<number> {
  const env = options.env ?? process.env;
  let config;
  try {
    config = loadDockerDeployConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  const root = REPOSITORY_ROOT;
  const facts = await gatherDockerFacts({
    root,
    engine: options.engine,
    model: config.ZEUS_MODEL,
    modelsDir: config.ZEUS_MODELS_DIR,
    generatedDir: config.ZEUS_GENERATED_DIR,
    hub: config.hub,
  });
  const plan = planDockerDeployment(facts, {
    root,
    composeFile: await readFile(join(root, 'docker-compose.yml'), 'utf8'),
    gpus: options.gpus,
    model: config.ZEUS_MODEL,
    port: config.ZEUS_PORT,
    modelsDir: config.ZEUS_MODELS_DIR,
    generatedDir: config.ZEUS_GENERATED_DIR,
    nodeName: env['ZEUS_NODE_NAME']?.trim() || hostname(),
  });

  if (options.dryRun) {
    console.log(describePlan(plan));
    return plan.problems.length > 0 ? 1 : 0;
  }
  if (plan.problems.length > 0) {
    console.error('Zeus cannot run with Docker on this machine yet:');
    for (const problem of plan.problems) console.error(`  - ${problem}`);
    return 1;
  }

  console.log(
    `Deploying Zeus with Docker: Redis, 3 API servers, Caddy and ${plan.workers} worker(s) ` +
      `running ${config.ZEUS_MODEL}, on port ${config.ZEUS_PORT}.`,
  );
  const composeEnv: NodeJS.ProcessEnv = { ...process.env, ...plan.composeEnv };
  for (const step of plan.steps) {
    const failure = await runStep(step, plan, composeEnv, root);
    if (failure !== undefined) {
      console.error(failure);
      console.error('Re-run deploy.ts once that is fixed: what is done already is kept.');
      return 1;
    }
  }
  console.log(`Deployment complete. Zeus is at ${plan.url}`);
  console.log(`  GraphQL API: ${plan.url}/graphql (WebSocket on the same path)`);
  console.log('  Containers:  docker compose ps');
  console.log('  Logs:        docker compose logs -f');
  console.log('  Stop:        docker compose down (the model files and videos stay on disk)');
  return 0;
}

/** The steps on this host's files: folders (and their owner), the override file. */
export async function runHostStep(
  step: Extract<Step, { kind: 'mkdir' | 'move' | 'write-file' | 'remove-file' }>,
): Promise<void> {
  switch (step.kind) {
    case 'move':
      console.log(
        `Moving the model files from ${step.from}, where an older Zeus kept them, to ${step.to}.`,
      );
      await rename(step.from, step.to);
      return;
    case 'mkdir':
      for (const path of step.paths) {
        await mkdir(path, { recursive: true });
        if (step.chown !== undefined) await chownTree(path, step.chown.uid, step.chown.gid);
      }
      return;
    case 'write-file':
      console.log(`Writing ${step.path} (the GPUs and the containers' user on this machine).`);
      await writeFile(step.path, step.content);
      return;
    case 'remove-file':
      console.log(`Removing ${step.path} (one GPU, default user: not needed).`);
      await rm(step.path, { force: true });
      return;
  }
}

/** Runs one step; returns what went wrong, or undefined. */
async function runStep(
  step: Step,
  plan: DockerPlan,
  env: NodeJS.ProcessEnv,
  root: string,
): Promise<string | undefined> {
  switch (step.kind) {
    case 'mkdir':
    case 'write-file':
    case 'remove-file':
      await runHostStep(step);
      return undefined;
    case 'move':
      try {
        await runHostStep(step);
      } catch (error) {
        return (
          `Could not move ${step.from} to ${step.to} (${error instanceof Error ? error.message : String(error)}): ` +
          `move it by hand, or set ZEUS_MODELS_DIR=${dirname(step.from)} to keep using it there.`
        );
      }
      return undefined;
    case 'docker': {
      console.log(`${step.title}: docker ${step.args.join(' ')}`);
      const status = await runDocker(step.args, { env, cwd: root });
      return status === 0 ? undefined : `docker ${step.args.join(' ')} failed (exit ${status}).`;
    }
    case 'fetch-model':
      return fetchModel(step, env, root);
    case 'wait-web': {
      const ready = await waitFor(
        WEB_TIMEOUT_MS,
        async () => (await systemStatus(step.url)) !== null,
      );
      if (!ready)
        return `Zeus did not answer at ${step.url} within ${WEB_TIMEOUT_MS / 60_000} minutes.`;
      console.log(
        `Zeus answers at ${step.url}; the web app says the model is loading until a worker has it.`,
      );
      return undefined;
    }
    case 'wait-model':
      return waitForModel(step, plan, env, root);
  }
}

/** Runs the download in this terminal, starting the workers as soon as it holds the lock. */
async function fetchModel(
  step: Extract<Step, { kind: 'fetch-model' }>,
  env: NodeJS.ProcessEnv,
  root: string,
): Promise<string | undefined> {
  console.log(`${step.title}: docker ${step.args.join(' ')}`);
  // Without a terminal (CI, a pipe), compose must not allocate one.
  const args = process.stdout.isTTY
    ? step.args
    : [...step.args.slice(0, 2), '-T', ...step.args.slice(2)];
  const { status, started } = await runWhileLocked(
    step.lockFile,
    () => runDocker(args, { env, cwd: root }),
    () => dockerOutput(step.startWorkers, { env, cwd: root }),
  );
  if (status !== 0) return `docker ${step.args.join(' ')} failed (exit ${status}).`;
  if (started.status !== 0) {
    return `docker ${step.startWorkers.join(' ')} failed (exit ${started.status}):\n${started.output}`;
  }
  console.log('Started the worker(s).');
  return undefined;
}

/**
 * Runs `download`, and `then` as soon as `lockFile` appears (a file event; a lock already there
 * counts), or when the download ends if it never does: the workers then wait for the download's
 * lock, saying so in their status, and find the files complete. `then` runs once.
 */
export async function runWhileLocked<T>(
  lockFile: string,
  download: () => Promise<number>,
  then: () => Promise<T>,
): Promise<{ readonly status: number; readonly started: T }> {
  let started: Promise<T> | undefined;
  const start = (): Promise<T> => (started ??= then());
  const watcher = watch(dirname(lockFile), (_event, name) => {
    if (name === basename(lockFile) && existsSync(lockFile)) void start();
  });
  if (existsSync(lockFile)) void start();
  let status: number;
  try {
    status = await download();
  } finally {
    watcher.close();
  }
  return { status, started: await start() };
}

/** chown -R, without following symbolic links out of the tree. */
async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await lchown(path, uid, gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, uid, gid);
    else await lchown(child, uid, gid);
  }
}

async function waitForModel(
  step: Extract<Step, { kind: 'wait-model' }>,
  plan: DockerPlan,
  env: NodeJS.ProcessEnv,
  root: string,
): Promise<string | undefined> {
  console.log(
    `Waiting for ${step.workers} worker(s) to load the model (docker compose logs -f inference)…`,
  );
  const deadline = Date.now() + MODEL_TIMEOUT_MS;
  let lastReport = '';
  for (let poll = 0; Date.now() < deadline; poll++) {
    const status = await systemStatus(step.url);
    let report = 'Zeus does not answer';
    if (status !== null) {
      const rows = await workerRows(step.url);
      const evidence: WorkerEvidence =
        rows === null
          ? { from: 'containers', rows: containerStates(step.services, env, root) }
          : { from: 'workers', rows };
      const wait = workersReady(step.services, status.model, evidence);
      if (wait.done) return undefined;
      report = describeStatus(status, wait);
    }
    if (report !== lastReport) console.log(`  ${report}`);
    lastReport = report;
    if (poll % CRASH_CHECK_EVERY === 0) {
      const crashed = crashedWorkers(step.services, env, root);
      if (crashed !== undefined) return crashed;
    }
    await sleep(POLL_MS);
  }
  return (
    `The model was not ready within ${MODEL_TIMEOUT_MS / 60_000} minutes: see ` +
    `docker compose logs inference. Zeus keeps trying; ${plan.url} works once it is.`
  );
}

/** A worker as the `workers` query lists it: the fields the wait reads. */
export interface WorkerRow {
  readonly id: string;
  readonly status: string;
  readonly ready: boolean;
  readonly model: string;
}

/**
 * What says whether the deployment's workers take jobs: the `workers` query, or, when that needs
 * an API key (keys on: deploy.ts has none), the containers' health, which Docker takes from the
 * same worker's /healthz (200 once it takes jobs) every 30 s.
 */
export type WorkerEvidence =
  | { readonly from: 'workers'; readonly rows: readonly WorkerRow[] }
  | { readonly from: 'containers'; readonly rows: readonly ComposeContainer[] };

export interface WorkersWait {
  readonly from: WorkerEvidence['from'];
  /** How many of the deployment's workers take jobs. */
  readonly ready: number;
  /** How many of them are online, ready or not (containers: running). */
  readonly online: number;
  readonly expected: number;
  /** Every one of them takes jobs: "Deployment complete." */
  readonly done: boolean;
}

/**
 * Whether each of the deployment's workers (`services`, one per GPU in GPU order: `inference`
 * is worker inference-1 on GPU 0, `inference-2` inference-2 on GPU 1, …) takes jobs. A worker
 * counts when it is ONLINE with `model` loaded: one GPU's worker having the model says nothing
 * of the others, which may still be converting it or failing. Rows of other workers (another
 * machine's, or one listed from an earlier deployment) do not count.
 */
export function workersReady(
  services: readonly string[],
  model: string,
  evidence: WorkerEvidence,
): WorkersWait {
  const expected = services.length;
  let ready = 0;
  let online = 0;
  if (evidence.from === 'workers') {
    const ids = new Set(services.map((_service, gpu) => workerIdOnGpu(gpu)));
    for (const row of evidence.rows) {
      if (!ids.has(row.id) || row.status !== 'ONLINE') continue;
      online++;
      if (row.ready && row.model === model) ready++;
    }
  } else {
    const names = new Set(services);
    for (const container of evidence.rows) {
      if (!names.has(container.service) || container.state !== 'running') continue;
      online++;
      if (container.health === 'healthy') ready++;
    }
  }
  return { from: evidence.from, ready, online, expected, done: expected > 0 && ready >= expected };
}

/** The containers of `services` as `docker compose ps` sees them (none when it fails). */
function containerStates(
  services: readonly string[],
  env: NodeJS.ProcessEnv,
  root: string,
): ComposeContainer[] {
  const ps = captureDocker(['compose', 'ps', '--all', '--format', 'json', ...services], {
    env,
    cwd: root,
  });
  return ps.status === 0 ? parseComposePs(ps.stdout) : [];
}

/** A message with the last log lines of a worker that keeps failing; undefined when none does. */
function crashedWorkers(
  services: readonly string[],
  env: NodeJS.ProcessEnv,
  root: string,
): string | undefined {
  const ps = captureDocker(['compose', 'ps', '--all', '--format', 'json', ...services], {
    env,
    cwd: root,
  });
  if (ps.status !== 0) return undefined;
  const failing = parseComposePs(ps.stdout).filter(
    (container) =>
      container.state === 'restarting' ||
      (container.state === 'exited' && container.exitCode !== 0),
  );
  const first = failing[0];
  if (first === undefined) return undefined;
  const logs = captureDocker(['compose', 'logs', '--no-color', '--tail', '30', first.service], {
    env,
    cwd: root,
  });
  return (
    `The worker ${first.service} keeps stopping (state ${first.state}, exit code ` +
    `${first.exitCode}). Its last lines:\n${logs.stdout}${logs.stderr}`
  );
}

interface SystemStatus {
  readonly model: string;
  readonly modelStatus: {
    readonly state: string;
    readonly message: string;
    readonly progress: number | null;
  } | null;
}

/**
 * "1 of 2 worker(s) ready, 2 online; CONVERTING: Converting the weights (40 %)", progress in 10 %
 * steps.
 */
function describeStatus(status: SystemStatus, wait: WorkersWait): string {
  const model = status.modelStatus;
  const percent = model?.progress == null ? '' : ` (${Math.floor(model.progress * 10) * 10} %)`;
  const state = model === null ? 'model not ready' : `${model.state}: ${model.message}${percent}`;
  const workers =
    wait.from === 'workers'
      ? `${wait.ready} of ${wait.expected} worker(s) ready, ${wait.online} online`
      : `${wait.ready} of ${wait.expected} worker container(s) healthy, ${wait.online} running`;
  return `${workers}; ${state}`;
}

/** A query through Caddy; null while Zeus does not answer it. */
async function query<T>(url: string, text: string): Promise<T | null> {
  try {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: text }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return null;
    const body = (await response.json()) as { data?: T | null };
    return body.data ?? null;
  } catch {
    return null;
  }
}

/** The `system` query; null while Zeus does not answer. */
async function systemStatus(url: string): Promise<SystemStatus | null> {
  const data = await query<{ system?: SystemStatus }>(
    url,
    '{ system { model modelStatus { state message progress } } }',
  );
  return data?.system ?? null;
}

/** The `workers` query; null when it is refused (API keys on) or not answered. */
async function workerRows(url: string): Promise<WorkerRow[] | null> {
  const data = await query<{ workers?: WorkerRow[] }>(url, '{ workers { id status ready model } }');
  return data?.workers ?? null;
}

/** Polls `check` every POLL_MS: readiness over HTTP has no event to wait on. */
async function waitFor(timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(POLL_MS);
  }
  return false;
}
