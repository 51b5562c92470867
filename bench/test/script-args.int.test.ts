/**
 * The stand-alone benchmark scripts' command lines: `--help` prints the usage, and a mistake is
 * one clear line plus the usage, exit 2, never a stack trace.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

const TSX = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx');

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runScript(script: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [join('bench', `${script}.ts`), ...args],
      { cwd: REPOSITORY_ROOT, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const SCRIPTS = ['t5', 'transformer', 'vae', 'pipeline', 'preview'] as const;
/** A value each script refuses, and what it says. */
const REFUSED: Readonly<Record<string, readonly [readonly string[], string]>> = {
  t5: [['--dtype', 'fp8'], '--dtype is fp32 or fp16'],
  transformer: [['--device', 'tpu'], 'Unknown device tpu'],
  vae: [['--width', '100'], '--width and --height must be multiples of 32, --frames 8k + 1'],
  pipeline: [['--model', '7b'], '--model is tiny or 2b'],
};

describe('benchmark scripts', () => {
  it('print their usage for --help and refuse mistakes in one line, exit 2', async () => {
    const outcomes = await Promise.all(
      SCRIPTS.map(async (script) => {
        const refused = REFUSED[script];
        const [help, unknown, value] = await Promise.all([
          runScript(script, ['--help']),
          runScript(script, ['--bogus', '1']),
          refused === undefined ? null : runScript(script, [...refused[0]]),
        ]);
        return { script, help, unknown, value, refused };
      }),
    );
    for (const { script, help, unknown, value, refused } of outcomes) {
      const usage = `npm run bench:${script} -- [options]`;
      expect(help.code, script).toBe(0);
      expect(help.stdout.startsWith(usage), script).toBe(true);
      expect(help.stdout).toMatch(/--[a-z-]+ /);

      expect(unknown.code, script).toBe(2);
      expect(unknown.stderr.split('\n')[0], script).toMatch(/^Unknown option '--bogus'/);
      expect(unknown.stderr).toContain(usage);
      expect(unknown.stderr).not.toMatch(/^\s+at /m);

      if (refused !== undefined) {
        expect(value?.code, script).toBe(2);
        expect(value?.stderr.split('\n')[0], script).toBe(refused[1]);
        expect(value?.stderr).not.toMatch(/^\s+at /m);
      }
    }
  }, 120_000);
});
