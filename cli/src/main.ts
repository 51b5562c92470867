/**
 * `zeus`: Zeus's command-line client. Run it as `npx zeus …` in this repository (the package
 * bin), or `npx tsx cli/src/main.ts …`.
 */
import { run } from './commands.ts';

const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupt.abort(new Error('Interrupted'));
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  terminal: process.stderr.isTTY ? process.stderr : null,
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
});
