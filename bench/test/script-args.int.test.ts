/**
 * The stand-alone benchmark scripts' command lines: `--help` prints the usage, and a mistake is
 * one clear line plus the usage, exit 2, never a stack trace.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

const TSX = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx');

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Scripts still running when the test ends (it timed out): stopped then. */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** No deadline of its own (a busy machine may take long to start tsx): the test's limit ends a hang. */
function runScript(script: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(
      TSX,
      [join('bench', `${script}.ts`), ...args],
      { cwd: REPOSITORY_ROOT },
      (error, stdout, stderr) => {
        running.delete(child);
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
    running.add(child);
  });
}

/**
 * Runs `tasks` as many at a time as the machine has cores: more would only make each slower.
 */
async function fewAtATime<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() }, lane));
  return results;
}

const SCRIPTS = ['t5', 'transformer', 'vae', 'pipeline', 'preview'] as const;
/** A value each script refuses, and what it says. */
const REFUSED: Readonly<Record<string, readonly [readonly string[], string]>> = {
  t5: [['--dtype', 'fp8'], '--dtype is fp32 or fp16'],
  transformer: [['--device', 'tpu'], 'Unknown device tpu'],
  vae: [['--width', '100'], '--width and --height must be multiples of 32, --frames 8k + 1'],
  pipeline: [['--model', '7b'], '--model is tiny or 2b'],
};

// One test per script (its two or three runs, as many at a time as there are cores): each has
// its own time limit for its own few process starts, which a busy machine makes slow.
describe('benchmark scripts', () => {
  it.each(SCRIPTS)(
    '%s prints its usage for --help and refuses mistakes in one line, exit 2',
    async (script) => {
      const refused = REFUSED[script];
      const [help, unknown, value = null] = await fewAtATime([
        () => runScript(script, ['--help']),
        () => runScript(script, ['--bogus', '1']),
        ...(refused === undefined ? [] : [() => runScript(script, [...refused[0]])]),
      ]);
      if (help === undefined || unknown === undefined) throw new Error('a run is missing');
      const usage = `npm run bench:${script} -- [options]`;
      expect(help.code).toBe(0);
      expect(help.stdout.startsWith(usage)).toBe(true);
      expect(help.stdout).toMatch(/--[a-z-]+ /);

      expect(unknown.code).toBe(2);
      expect(unknown.stderr.split('\n')[0]).toMatch(/^Unknown option '--bogus'/);
      expect(unknown.stderr).toContain(usage);
      expect(unknown.stderr).not.toMatch(/^\s+at /m);

      if (refused !== undefined) {
        expect(value?.code).toBe(2);
        expect(value?.stderr.split('\n')[0]).toBe(refused[1]);
        expect(value?.stderr).not.toMatch(/^\s+at /m);
      }
    },
  );
});
