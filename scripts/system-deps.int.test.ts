import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureSystemPrograms, type SystemEnvironment } from './system-deps.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface FakeMachine {
  readonly environment: SystemEnvironment;
  /** Every command run, as one string each ("apt-get update -qq"). */
  readonly commands: string[];
  readonly logged: string[];
}

/**
 * A machine with `installed` on PATH (and `pythonModules` importable by Debian's Python). A
 * successful `apt-get install` puts `provides`'s commands (or modules) for each installed
 * package on PATH (or in Python), as Debian's packages would.
 */
function fakeMachine(options: {
  installed: readonly string[];
  pythonModules?: readonly string[];
  isRoot?: boolean;
  failing?: 'update' | 'install';
  provides?: Readonly<Record<string, readonly string[]>>;
}): FakeMachine {
  const onPath = new Set(options.installed);
  const provides = options.provides ?? {
    'redis-server': ['redis-server'],
    caddy: ['caddy'],
    ffmpeg: ['ffmpeg', 'ffprobe'],
    curl: ['curl'],
    chromium: ['chromium'],
    wrk: ['wrk'],
    gunicorn: ['python:gunicorn'],
    'python3-flask': ['python:flask'],
    'python3-redis': ['python:redis'],
  };
  const pythonModules = new Set(options.pythonModules ?? []);
  const commands: string[] = [];
  const logged: string[] = [];
  return {
    commands,
    logged,
    environment: {
      onPath: (command) => onPath.has(command),
      hasPythonModule: (module) => pythonModules.has(module),
      isRoot: options.isRoot ?? true,
      log: (line) => logged.push(line),
      run: (command, args) => {
        commands.push([command, ...args].join(' '));
        if (args[0] === 'update') return options.failing !== 'update';
        if (options.failing === 'install') return false;
        for (const debianPackage of args.filter((arg) => !arg.startsWith('-')).slice(1)) {
          for (const provided of provides[debianPackage] ?? []) {
            if (provided.startsWith('python:')) pythonModules.add(provided.slice('python:'.length));
            else onPath.add(provided);
          }
        }
        return true;
      },
    },
  };
}

const EVERYTHING = ['apt-get', 'redis-server', 'caddy', 'ffmpeg', 'ffprobe', 'curl', 'chromium'];

describe('ensureSystemPrograms', () => {
  it('runs nothing when every program is on PATH', () => {
    const machine = fakeMachine({ installed: EVERYTHING });
    ensureSystemPrograms('tests', machine.environment);
    expect(machine.commands).toEqual([]);
    expect(machine.logged).toEqual([]);
  });

  it('does not ask for Chromium outside the tests', () => {
    const machine = fakeMachine({ installed: EVERYTHING.filter((c) => c !== 'chromium') });
    ensureSystemPrograms('local', machine.environment);
    expect(machine.commands).toEqual([]);
  });

  it('updates the package lists once, then installs each missing package once', () => {
    const machine = fakeMachine({ installed: ['apt-get', 'caddy'] });
    ensureSystemPrograms('tests', machine.environment);
    expect(machine.commands).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends redis-server ffmpeg curl chromium',
    ]);
    expect(machine.logged).toEqual([
      "Installing redis-server, ffmpeg, curl, chromium from Debian's packages (needed: " +
        'redis-server (job queue and state), ffmpeg (MP4 encoding), ffprobe (MP4 checks), ' +
        "curl (the documentation's API examples), chromium (browser tests))...",
    ]);
  });

  it('installs ffmpeg for ffprobe alone, and leaves Chromium out for a local run', () => {
    const machine = fakeMachine({ installed: ['apt-get', 'redis-server', 'caddy', 'ffmpeg'] });
    ensureSystemPrograms('local', machine.environment);
    expect(machine.commands).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends ffmpeg',
    ]);
  });

  it("installs the submit benchmark's load generator and the Flask peer's Python packages", () => {
    const machine = fakeMachine({ installed: ['apt-get', 'redis-server', 'caddy', 'flask'] });
    ensureSystemPrograms('bench', machine.environment);
    expect(machine.commands).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends wrk gunicorn python3-flask python3-redis',
    ]);
    expect(machine.logged).toEqual([
      "Installing wrk, gunicorn, python3-flask, python3-redis from Debian's packages (needed: " +
        "wrk (the submit benchmark's load), Python's gunicorn (the Flask peer), " +
        "Python's flask (the Flask peer), Python's redis (the Flask peer))...",
    ]);
  });

  it('looks Python packages up in Python, not on PATH', () => {
    const machine = fakeMachine({
      installed: ['apt-get', 'redis-server', 'caddy', 'wrk'],
      pythonModules: ['gunicorn', 'flask', 'redis'],
    });
    ensureSystemPrograms('bench', machine.environment);
    expect(machine.commands).toEqual([]);
  });

  it('tells a user who is not root the exact command, and runs nothing', () => {
    const machine = fakeMachine({ installed: ['apt-get', 'redis-server'], isRoot: false });
    expect(() => {
      ensureSystemPrograms('local', machine.environment);
    }).toThrow(
      'Zeus needs caddy (load balancer and static files), ffmpeg (MP4 encoding), ' +
        'ffprobe (MP4 checks), which are not installed. ' +
        'Install them with: apt-get install -y caddy ffmpeg (as root)',
    );
    expect(machine.commands).toEqual([]);
  });

  it('says when apt-get itself is missing', () => {
    const machine = fakeMachine({
      installed: ['redis-server', 'caddy', 'ffmpeg', 'ffprobe', 'curl'],
    });
    expect(() => {
      ensureSystemPrograms('tests', machine.environment);
    }).toThrow(
      'Zeus needs chromium (browser tests), which is not installed. ' +
        'Install them with: apt-get install -y chromium (apt-get was not found)',
    );
    expect(machine.commands).toEqual([]);
  });

  it('stops after a failed apt-get update and says what to run later', () => {
    const machine = fakeMachine({ installed: ['apt-get'], failing: 'update' });
    expect(() => {
      ensureSystemPrograms('local', machine.environment);
    }).toThrow(
      'apt-get update failed; Install them with: apt-get install -y redis-server caddy ffmpeg ' +
        'once the package lists can be fetched.',
    );
    expect(machine.commands).toEqual(['apt-get update -qq']);
  });

  it('reports a failed apt-get install with the command to retry', () => {
    const machine = fakeMachine({
      installed: ['apt-get', 'redis-server', 'caddy'],
      failing: 'install',
    });
    expect(() => {
      ensureSystemPrograms('local', machine.environment);
    }).toThrow('apt-get install failed. Install them with: apt-get install -y ffmpeg');
    expect(machine.commands).toHaveLength(2);
  });

  it('names a program still missing after the install succeeded', () => {
    // A Debian release whose ffmpeg package lacks ffprobe.
    const machine = fakeMachine({
      installed: ['apt-get', 'redis-server', 'caddy'],
      provides: { ffmpeg: ['ffmpeg'] },
    });
    expect(() => {
      ensureSystemPrograms('local', machine.environment);
    }).toThrow(
      'After installing, still missing: ffprobe. Install them with: apt-get install -y ffmpeg',
    );
  });
});

describe('tsx scripts/system-deps.ts', () => {
  const runScript = (...args: string[]) =>
    spawnSync(join(root, 'node_modules/.bin/tsx'), ['scripts/system-deps.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });

  // The test run's pretest has just run this very command, so everything is installed here.
  it('exits 0 without a word when everything the tests need is installed', () => {
    const result = runScript('--for', 'tests');
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('exits 2 with its usage for an unknown purpose', () => {
    const result = runScript('--for', 'production');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('usage: tsx scripts/system-deps.ts --for tests|local|bench\n');
  });
});
