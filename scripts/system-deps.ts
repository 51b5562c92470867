/**
 * Installs the system programs Zeus runs next to Node (Redis, Caddy, ffmpeg, and curl and
 * Chromium for the tests; wrk and the Flask peer's Python packages for the submit benchmark)
 * from Debian's packages when they are missing.
 *
 * Uses only Node built-ins: `deploy.ts` imports it before `npm install` has run.
 *
 *   tsx scripts/system-deps.ts --for tests   # redis-server, caddy, ffmpeg, ffprobe, curl, chromium
 *   tsx scripts/system-deps.ts --for local   # redis-server, caddy, ffmpeg, ffprobe
 *   tsx scripts/system-deps.ts --for bench   # redis-server, caddy, wrk, gunicorn, flask, redis-py
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type Purpose = 'tests' | 'local' | 'bench';

/**
 * Debian's own Python, which Debian's `python3-*` packages install into (`python3` on PATH may
 * be another one, such as a pyenv shim).
 */
export const DEBIAN_PYTHON = '/usr/bin/python3';

interface SystemProgram {
  /** Command looked up on PATH, or the Python module when `pythonModule` is set. */
  readonly command: string;
  /** Checked as a module Debian's Python imports (`DEBIAN_PYTHON -c 'import …'`), not on PATH. */
  readonly pythonModule?: true;
  /** Debian package that provides it. */
  readonly debianPackage: string;
  /** Why Zeus needs it, for the error message. */
  readonly why: string;
}

const PROGRAMS: Record<Purpose, readonly SystemProgram[]> = {
  local: [
    { command: 'redis-server', debianPackage: 'redis-server', why: 'job queue and state' },
    { command: 'caddy', debianPackage: 'caddy', why: 'load balancer and static files' },
    { command: 'ffmpeg', debianPackage: 'ffmpeg', why: 'MP4 encoding' },
    { command: 'ffprobe', debianPackage: 'ffmpeg', why: 'MP4 checks' },
  ],
  tests: [
    { command: 'redis-server', debianPackage: 'redis-server', why: 'job queue and state' },
    { command: 'caddy', debianPackage: 'caddy', why: 'load balancer and static files' },
    { command: 'ffmpeg', debianPackage: 'ffmpeg', why: 'MP4 encoding' },
    { command: 'ffprobe', debianPackage: 'ffmpeg', why: 'MP4 checks' },
    { command: 'curl', debianPackage: 'curl', why: "the documentation's API examples" },
    { command: 'chromium', debianPackage: 'chromium', why: 'browser tests' },
  ],
  // The submit benchmark: the stack, wrk for the load, and the Flask peer (bench/peer/).
  bench: [
    { command: 'redis-server', debianPackage: 'redis-server', why: 'job queue and state' },
    { command: 'caddy', debianPackage: 'caddy', why: 'load balancer and static files' },
    { command: 'wrk', debianPackage: 'wrk', why: "the submit benchmark's load" },
    { command: 'gunicorn', debianPackage: 'gunicorn', pythonModule: true, why: 'the Flask peer' },
    { command: 'flask', debianPackage: 'python3-flask', pythonModule: true, why: 'the Flask peer' },
    { command: 'redis', debianPackage: 'python3-redis', pythonModule: true, why: 'the Flask peer' },
  ],
};

export function isOnPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function hasPythonModule(module: string): boolean {
  return spawnSync(DEBIAN_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

export function missingPrograms(
  purpose: Purpose,
  onPath = isOnPath,
  pythonHas = hasPythonModule,
): SystemProgram[] {
  return PROGRAMS[purpose].filter((program) =>
    program.pythonModule === true ? !pythonHas(program.command) : !onPath(program.command),
  );
}

/** What `ensureSystemPrograms` asks of the machine; tests pass their own. */
export interface SystemEnvironment {
  /** Whether a command is found on PATH (looked up again after installing). */
  readonly onPath: (command: string) => boolean;
  /** Whether Debian's Python imports a module (looked up again after installing). */
  readonly hasPythonModule: (module: string) => boolean;
  readonly isRoot: boolean;
  /** Runs a command with its output on the terminal; true when it exited 0. */
  readonly run: (command: string, args: readonly string[]) => boolean;
  /** Where the "Installing …" line goes. */
  readonly log: (line: string) => void;
}

function runOnTerminal(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

/** This machine: PATH, the process's user id, spawned commands and stdout. */
export function currentSystemEnvironment(): SystemEnvironment {
  return {
    onPath: isOnPath,
    hasPythonModule,
    isRoot: process.getuid?.() === 0,
    run: runOnTerminal,
    log: (line) => {
      console.log(line);
    },
  };
}

/** Installs what is missing; throws an Error whose message says exactly what to do otherwise. */
export function ensureSystemPrograms(
  purpose: Purpose,
  environment: SystemEnvironment = currentSystemEnvironment(),
): void {
  const { onPath, isRoot, run, log } = environment;
  const missing = missingPrograms(purpose, onPath, environment.hasPythonModule);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((program) => program.debianPackage))];
  const list = missing
    .map(
      (program) =>
        `${program.pythonModule === true ? "Python's " : ''}${program.command} (${program.why})`,
    )
    .join(', ');
  const manual = `Install them with: apt-get install -y ${packages.join(' ')}`;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error(
      `Zeus needs ${list}, which ${missing.length === 1 ? 'is' : 'are'} not installed. ${manual}` +
        (isRoot ? ' (apt-get was not found)' : ' (as root)'),
    );
  }
  log(`Installing ${packages.join(', ')} from Debian's packages (needed: ${list})...`);
  if (!run('apt-get', ['update', '-qq'])) {
    throw new Error(`apt-get update failed; ${manual} once the package lists can be fetched.`);
  }
  if (!run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages])) {
    throw new Error(`apt-get install failed. ${manual}`);
  }
  const stillMissing = missingPrograms(purpose, onPath, environment.hasPythonModule);
  if (stillMissing.length > 0) {
    throw new Error(
      `After installing, still missing: ${stillMissing.map((p) => p.command).join(', ')}. ${manual}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const purposeIndex = process.argv.indexOf('--for');
  const purpose = process.argv[purposeIndex + 1];
  if (purposeIndex < 0 || (purpose !== 'tests' && purpose !== 'local' && purpose !== 'bench')) {
    console.error('usage: tsx scripts/system-deps.ts --for tests|local|bench');
    process.exit(2);
  }
  try {
    ensureSystemPrograms(purpose);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
