/**
 * ONNX Runtime's CUDA provider for local mode on a GPU machine. onnxruntime-node ships without
 * it: its install script downloads it, which the project's package.json denies
 * (`allowScripts`: `"onnxruntime-node": false`, so `npm install` never runs it) because
 * development machines and CI cannot reach the download host. The GPU image runs that script with `ONNXRUNTIME_NODE_INSTALL=true`
 * (deploy/docker/inference.Dockerfile); `deploy.ts --local` runs it here, once, when an
 * NVIDIA GPU answers `nvidia-smi` and the workers may use it. When the download fails, the
 * workers run the model on the CPU (ZEUS_DEVICE=auto falls back) and deploy.ts says so; with
 * ZEUS_DEVICE=cuda, which cannot work without it, it stops.
 *
 * Node's built-ins only: deploy.ts runs this before anything else of Zeus is loaded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What the decision depends on. */
export interface CudaProviderFacts {
  readonly platform: string;
  readonly arch: string;
  /** GPUs `nvidia-smi -L` lists; null when nvidia-smi is missing or fails. */
  readonly gpus: number | null;
  /** The provider's library is already next to onnxruntime-node's binding. */
  readonly installed: boolean;
  /** ZEUS_DEVICE as set (undefined: unset, which means `auto`). */
  readonly device: string | undefined;
  /** ZEUS_WORKERS as set (undefined: unset, which means 1). */
  readonly workers: string | undefined;
}

export type CudaProviderPlan =
  /** Nothing to do, and why (for --dry-run and logs). */
  | { readonly action: 'skip'; readonly reason: string }
  /** Installed before: the workers can use the GPU. */
  | { readonly action: 'ready' }
  /** Download it; `required` when ZEUS_DEVICE=cuda (no CPU fallback). */
  | { readonly action: 'install'; readonly required: boolean };

/** Whether local mode installs the CUDA provider (pure). */
export function planCudaProvider(facts: CudaProviderFacts): CudaProviderPlan {
  const device = facts.device?.trim().toLowerCase() || 'auto';
  if (device === 'cpu' || device === 'webgpu') {
    return { action: 'skip', reason: `ZEUS_DEVICE=${device}: the workers do not use CUDA` };
  }
  if (facts.workers?.trim() === '0') {
    return { action: 'skip', reason: 'ZEUS_WORKERS=0: no workers run here' };
  }
  if (facts.platform !== 'linux' || facts.arch !== 'x64') {
    return {
      action: 'skip',
      reason: `onnxruntime-node has a CUDA provider for Linux x64 only (this is ${facts.platform} ${facts.arch})`,
    };
  }
  if (facts.gpus === null || facts.gpus === 0) {
    return { action: 'skip', reason: 'no NVIDIA GPU answers nvidia-smi' };
  }
  if (facts.installed) return { action: 'ready' };
  return { action: 'install', required: device === 'cuda' };
}

/** Network failures, in the words Node's error messages use. */
const UNREACHABLE =
  /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/;

/**
 * What deploy.ts says when the download failed (pure): why, in a sentence, what happens now, and
 * how to install it later.
 */
export function describeCudaInstallFailure(output: string, required: boolean): string {
  const network = UNREACHABLE.exec(output);
  const host = /ENOTFOUND ([\w.-]+)|hostname: '([\w.-]+)'/.exec(output);
  const why =
    network === null
      ? `its install script failed: ${lastLine(output)}`
      : `${host?.[1] ?? host?.[2] ?? 'the download host'} cannot be reached (${network[1] ?? ''})`;
  const manual =
    'Install it later with: (cd node_modules/onnxruntime-node && ' +
    'ONNXRUNTIME_NODE_INSTALL=true node script/install.js), or run deploy.ts again.';
  return required
    ? `Could not download ONNX Runtime's CUDA provider: ${why}. ZEUS_DEVICE=cuda needs it; ` +
        `set ZEUS_DEVICE=auto to run on the CPU meanwhile. ${manual}`
    : `Could not download ONNX Runtime's CUDA provider: ${why}. The workers run the model on ` +
        `the CPU, much more slowly. ${manual}`;
}

function lastLine(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('at '));
  return lines.at(-1) ?? 'no output';
}

/** onnxruntime-node's folder, its install script and where the provider's library goes. */
export function onnxRuntimeLayout(): { dir: string; installScript: string; library: string } {
  const require = createRequire(import.meta.url);
  // <dir>/dist/index.js
  const dir = dirname(dirname(require.resolve('onnxruntime-node')));
  return {
    dir,
    installScript: join(dir, 'script', 'install.js'),
    library: join(dir, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'),
  };
}

/** GPUs nvidia-smi lists; null when it is not installed or fails (no driver). */
export function countNvidiaGpus(): number | null {
  const result = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error !== undefined || result.status !== 0) return null;
  return result.stdout.split('\n').filter((line) => /^GPU \d+/.test(line)).length;
}

/** The plan for this machine and these settings, without doing anything (for --dry-run). */
export function currentCudaProviderPlan(
  env: Readonly<Record<string, string | undefined>>,
): CudaProviderPlan {
  return planCudaProvider({
    platform: process.platform,
    arch: process.arch,
    gpus: countNvidiaGpus(),
    installed: existsSync(onnxRuntimeLayout().library),
    device: env['ZEUS_DEVICE'],
    workers: env['ZEUS_WORKERS'],
  });
}

export interface CudaProviderOutcome {
  readonly plan: CudaProviderPlan;
  /** False only when it had to be installed and could not be. */
  readonly ok: boolean;
  /** What to tell the user; null when there is nothing to say. */
  readonly message: string | null;
  /** How to say it: news, a warning (the CPU runs the model), or why deploy.ts stops. */
  readonly level: 'info' | 'warning' | 'error';
}

/**
 * Installs the provider when the plan says so, showing the install script's output. Resolves
 * with what happened; never throws for a failed download.
 */
export async function ensureCudaProvider(
  env: Readonly<Record<string, string | undefined>>,
  options: {
    readonly facts?: Partial<CudaProviderFacts>;
    readonly layout?: { readonly installScript: string; readonly library: string; dir: string };
    readonly log?: (line: string) => void;
    /** Longest the download may take (default 20 minutes: about 300 MB). */
    readonly timeoutMs?: number;
  } = {},
): Promise<CudaProviderOutcome> {
  const layout = options.layout ?? onnxRuntimeLayout();
  const log =
    options.log ??
    ((line: string) => {
      console.log(line);
    });
  const plan = planCudaProvider({
    platform: process.platform,
    arch: process.arch,
    gpus: options.facts?.gpus === undefined ? countNvidiaGpus() : options.facts.gpus,
    installed: existsSync(layout.library),
    device: env['ZEUS_DEVICE'],
    workers: env['ZEUS_WORKERS'],
    ...options.facts,
  });
  if (plan.action !== 'install') return { plan, ok: true, message: null, level: 'info' };
  log(
    "An NVIDIA GPU is here: installing ONNX Runtime's CUDA provider for the workers " +
      '(once; about 300 MB, as the GPU image does)…',
  );
  const { code, output } = await run(
    process.execPath,
    [layout.installScript],
    layout.dir,
    installEnvironment(env),
    options.timeoutMs ?? 1_200_000,
    log,
  );
  if (code === 0 && existsSync(layout.library)) {
    return {
      plan,
      ok: true,
      message: "Installed ONNX Runtime's CUDA provider: the workers run the model on the GPU.",
      level: 'info',
    };
  }
  return {
    plan,
    ok: !plan.required,
    level: plan.required ? 'error' : 'warning',
    message: describeCudaInstallFailure(
      code === null ? `${output}\nETIMEDOUT: the download took too long` : output,
      plan.required,
    ),
  };
}

/**
 * The install script's environment: `ONNXRUNTIME_NODE_INSTALL=true` forces the files the
 * package leaves out for this platform (on Linux x64, the CUDA 12 provider). Not `cuda12`, as
 * the image has it: onnxruntime-node 1.30's parser returns nothing for that value, and nothing
 * means "only when not installing the package itself", which it takes npm's variables
 * (npm_config_local_prefix, npm_package_json: set when deploy.ts runs under npx or npm) to mean.
 * So npm's variables are left out too.
 */
export function installEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const kept = Object.entries(env).filter(([name]) => !/^npm_/i.test(name));
  return { ...Object.fromEntries(kept), ONNXRUNTIME_NODE_INSTALL: 'true' };
}

/** Runs a command, passing its output on line by line and keeping it; code null: timed out. */
function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output += text;
      // Its progress lines; a failure's stack trace is summed up afterwards instead.
      for (const line of text.split('\n')) {
        if (/^(Downloading|Extracting) /.test(line)) log(`  ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      output += `\n${error.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? null : (code ?? 1), output });
    });
  });
}
