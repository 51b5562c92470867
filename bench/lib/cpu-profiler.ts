/**
 * Loaded with `--import` into the stack's Node processes by the benchmarks (Node refuses
 * `--cpu-prof` in NODE_OPTIONS): records a CPU profile and writes it to
 * `$ZEUS_BENCH_PROFILE_DIR/<pid>.cpuprofile` (open it in Chrome DevTools or speedscope).
 *
 * - `ZEUS_BENCH_PROFILE_WINDOW=life` (the default, `npm run bench -- --profile DIR`): from start
 *   to exit.
 * - `ZEUS_BENCH_PROFILE_WINDOW=signal` (the submit benchmark): nothing until a SIGUSR2, then
 *   from it to the next SIGUSR2, which writes the profile (under a temporary name, then renamed:
 *   a file with the final name is complete). Again and again, each profile replacing the last.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['ZEUS_BENCH_PROFILE_DIR'];
const window = process.env['ZEUS_BENCH_PROFILE_WINDOW'] ?? 'life';

function writeProfile(profile: object): void {
  mkdirSync(dir ?? '.', { recursive: true });
  const path = join(dir ?? '.', `${process.pid}.cpuprofile`);
  writeFileSync(`${path}.partial`, JSON.stringify(profile));
  renameSync(`${path}.partial`, path);
}

if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  if (window === 'signal') {
    let recording = false;
    process.on('SIGUSR2', () => {
      if (!recording) {
        recording = true;
        session.post('Profiler.start');
        return;
      }
      recording = false;
      session.post('Profiler.stop', (error, result) => {
        if (error === null) writeProfile(result.profile);
      });
    });
  } else {
    session.post('Profiler.start');
    process.on('exit', () => {
      // The in-process inspector answers synchronously: the profile is written before exiting.
      session.post('Profiler.stop', (error, result) => {
        if (error === null) writeProfile(result.profile);
      });
    });
  }
}
