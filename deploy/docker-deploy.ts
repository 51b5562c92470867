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
import { ConfigError } from '@zeus/core';
import { dockerOutput, runDocker, type EngineInfo } from './docker-cli.ts';
import { loadDockerDeployConfig } from './docker-config.ts';
import { gatherDockerFacts } from './docker-facts.ts';
import { describePlan, planDockerDeployment, type DockerPlan, type Step } from './docker-plan.ts';
import { waitForModel, waitForWeb } from './docker-wait.ts';
import { REPOSITORY_ROOT } from './local-stack.ts';

export interface DockerDeployOptions {
  readonly dryRun: boolean;
  readonly gpus: number | undefined;
  readonly engine: EngineInfo;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

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
    case 'wait-web':
      return waitForWeb(step);
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
