/**
 * The Docker deploy's waits (docker-deploy.ts): for Zeus to answer through Caddy, then for every
 * worker of the deployment to take jobs, told by the `workers` query or, when that needs an API
 * key, by the containers' health; a worker that keeps failing ends the wait with its last lines.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { captureDocker, parseComposePs, type ComposeContainer } from './docker-cli.ts';
import { workerIdOnGpu } from './compose-override.ts';
import type { DockerPlan, Step } from './docker-plan.ts';

/** How long the stack may take to answer once its containers are up. */
const WEB_TIMEOUT_MS = 5 * 60_000;
/** How long the workers may take to load the model (a first start converts it to ONNX). */
const MODEL_TIMEOUT_MS = 60 * 60_000;
const POLL_MS = 2_000;
/** Container states checked every this many polls while waiting for the model. */
const CRASH_CHECK_EVERY = 5;

/** Waits for Zeus to answer through Caddy; returns what went wrong, or undefined. */
export async function waitForWeb(
  step: Extract<Step, { kind: 'wait-web' }>,
): Promise<string | undefined> {
  const ready = await waitFor(WEB_TIMEOUT_MS, async () => (await systemStatus(step.url)) !== null);
  if (!ready)
    return `Zeus did not answer at ${step.url} within ${WEB_TIMEOUT_MS / 60_000} minutes.`;
  console.log(
    `Zeus answers at ${step.url}; the web app says the model is loading until a worker has it.`,
  );
  return undefined;
}

/** Waits for every worker to take jobs; returns what went wrong, or undefined. */
export async function waitForModel(
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
