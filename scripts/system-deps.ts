/**
 * Installs the system programs Zeus runs next to Node (Redis, Caddy, ffmpeg, and curl and
 * Chromium for the tests) from Debian's packages when they are missing.
 *
 * Uses only Node built-ins: `deploy.ts` imports it before `npm install` has run.
 *
 *   tsx scripts/system-deps.ts --for tests   # redis-server, caddy, ffmpeg, ffprobe, curl, chromium
 *   tsx scripts/system-deps.ts --for local   # redis-server, caddy, ffmpeg, ffprobe
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type Purpose = 'tests' | 'local';

interface SystemProgram {
  /** Command looked up on PATH. */
  readonly command: string;
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
    { command: 'curl', debianPackage: 'curl', why: "the README's API examples" },
    { command: 'chromium', debianPackage: 'chromium', why: 'browser tests' },
  ],
};

export function isOnPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function missingPrograms(purpose: Purpose, onPath = isOnPath): SystemProgram[] {
  return PROGRAMS[purpose].filter((program) => !onPath(program.command));
}

/** What `ensureSystemPrograms` asks of the machine; tests pass their own. */
export interface SystemEnvironment {
  /** Whether a command is found on PATH (looked up again after installing). */
  readonly onPath: (command: string) => boolean;
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
  const missing = missingPrograms(purpose, onPath);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((program) => program.debianPackage))];
  const list = missing.map((program) => `${program.command} (${program.why})`).join(', ');
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
  const stillMissing = missingPrograms(purpose, onPath);
  if (stillMissing.length > 0) {
    throw new Error(
      `After installing, still missing: ${stillMissing.map((p) => p.command).join(', ')}. ${manual}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const purposeIndex = process.argv.indexOf('--for');
  const purpose = process.argv[purposeIndex + 1];
  if (purposeIndex < 0 || (purpose !== 'tests' && purpose !== 'local')) {
    console.error('usage: tsx scripts/system-deps.ts --for tests|local');
    process.exit(2);
  }
  try {
    ensureSystemPrograms(purpose);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
