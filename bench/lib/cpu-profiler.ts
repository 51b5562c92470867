/**
 * Loaded with `--import` into the stack's Node processes by `npm run bench -- --profile DIR`:
 * records a CPU profile from start to exit and writes it to
 * `$ZEUS_BENCH_PROFILE_DIR/<pid>.cpuprofile` (Node refuses `--cpu-prof` in NODE_OPTIONS).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['ZEUS_BENCH_PROFILE_DIR'];
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-process inspector answers synchronously: the profile is written before exiting.
    session.post('Profiler.stop', (error, result) => {
      if (error !== null) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
