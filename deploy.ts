/**
 * Runs the whole Zeus stack.
 *
 *   npx tsx deploy.ts             Docker when a Docker engine answers, otherwise --local
 *   npx tsx deploy.ts --docker    Redis, three API servers, Caddy and one worker per GPU as
 *                                 containers (docker-compose.yml); says what is missing first
 *   npx tsx deploy.ts --local     the same stack as local processes
 *   --gpus N                      Docker: N workers on GPUs 0…N-1 (default: every GPU)
 *   --dry-run                     print what it would do, and do nothing
 *
 * Works from a fresh clone: npm packages are installed first when missing, and in local mode the
 * system programs (redis-server, caddy, ffmpeg) too, which is why only Node's built-ins and
 * modules made of them are imported up here. Settings come from the environment
 * (docs/configuration.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dockerInfo } from './deploy/docker-cli.ts';
import { ensureSystemPrograms, missingPrograms } from './scripts/system-deps.ts';

const USAGE = 'usage: npx tsx deploy.ts [--local | --docker] [--gpus N] [--dry-run]';
const HELP = `${USAGE}

Runs the whole Zeus stack: Redis, three API servers behind Caddy, and the GPU workers.

  (no option)  Docker when a Docker engine answers, otherwise --local
  --docker     the stack as containers (docker-compose.yml), one worker per GPU; says what is
               missing first (engine, Compose, NVIDIA container toolkit)
  --local      the same stack as processes on this machine (installs redis-server, caddy and
               ffmpeg first when they are missing); one worker per GPU, or ZEUS_WORKERS
  --gpus N     Docker: N workers on GPUs 0…N-1 (default: every GPU)
  --dry-run    print what it would do, and do nothing
  --help       this text

Zeus answers on port ZEUS_PORT: 8080 in local mode, 80 with Docker. Every setting is an
environment variable (ZEUS_MODEL, ZEUS_API_KEYS, ZEUS_WORKERS, REDIS_URL, …):
docs/configuration.md. Stop it with Ctrl-C.`;

const root = dirname(fileURLToPath(import.meta.url));
let flags;
try {
  flags = parseArgs({
    args: process.argv.slice(2),
    options: {
      local: { type: 'boolean', default: false },
      docker: { type: 'boolean', default: false },
      gpus: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
const usageError = (message: string): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
};
if (flags.local && flags.docker) usageError('--local and --docker exclude each other.');
const gpus = flags.gpus === undefined ? undefined : Number(flags.gpus);
if (gpus !== undefined && !(Number.isInteger(gpus) && gpus >= 1)) {
  usageError(`--gpus must be a whole number of at least 1 (got ${JSON.stringify(flags.gpus)}).`);
}
if (gpus !== undefined && flags.local) {
  usageError('--gpus is for Docker mode; local mode runs ZEUS_WORKERS workers.');
}
const dryRun = flags['dry-run'];

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  if (dryRun) {
    console.log('deploy.ts would run npm install first (node_modules is missing), then decide.');
    process.exit(0);
  }
  console.log('Installing npm packages (npm install)…');
  const install = spawnSync('npm', ['install'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('npm install failed; see its output above.');
    process.exit(1);
  }
}

const { chooseMode } = await import('./deploy/docker-plan.ts');
// --local never asks Docker anything.
const engine = flags.local ? { answers: false, problem: undefined } : dockerInfo();
const choice = chooseMode({ local: flags.local, docker: flags.docker }, engine);
if (choice.note !== undefined) console.log(choice.note);

if (choice.mode === 'docker' && 'cliInstalled' in engine) {
  const { deployWithDocker } = await import('./deploy/docker-deploy.ts');
  process.exit(await deployWithDocker({ dryRun, gpus, engine }));
}

const { currentCudaProviderPlan, ensureCudaProvider } = await import('./deploy/cuda-provider.ts');
if (dryRun) {
  const installs = missingPrograms('local').map((program) => program.command);
  if (currentCudaProviderPlan(process.env).action === 'install') {
    installs.push("ONNX Runtime's CUDA provider (an NVIDIA GPU answers nvidia-smi)");
  }
  console.log(
    'deploy.ts would run Zeus as local processes (Redis, 3 API servers, Caddy, ZEUS_WORKERS ' +
      'workers; logs in .zeus/logs)' +
      (installs.length > 0 ? `, installing first: ${installs.join(', ')}.` : '.'),
  );
  process.exit(0);
}
try {
  ensureSystemPrograms('local');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
// On an NVIDIA GPU machine, the CUDA provider the npm install left out (allowScripts), once.
const cuda = await ensureCudaProvider(process.env);
if (cuda.message !== null) {
  if (cuda.level === 'info') console.log(cuda.message);
  else console.warn(`${cuda.level === 'error' ? 'Error' : 'Warning'}: ${cuda.message}`);
}
if (!cuda.ok) process.exit(1);
const { deployLocally } = await import('./deploy/local-deploy.ts');
process.exit(await deployLocally());
