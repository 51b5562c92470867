/**
 * Runs the whole Zeus stack.
 *
 *   npx tsx deploy.ts           Docker when a Docker engine answers, otherwise --local
 *   npx tsx deploy.ts --local   Redis, three API servers, Caddy and the workers as processes
 *
 * Works from a fresh clone: npm packages and system programs (redis-server, caddy, ffmpeg) are
 * installed first when missing, which is why only Node's built-ins are imported up here.
 * Settings come from the environment (see README.md, "Configuration").
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPrograms } from './scripts/system-deps.ts';

const root = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const known = new Set(['--local', '--docker', '--help', '-h']);
const unknown = args.filter((arg) => !known.has(arg));
if (unknown.length > 0 || args.includes('--help') || args.includes('-h')) {
  console.log('usage: npx tsx deploy.ts [--local | --docker]');
  process.exit(unknown.length > 0 ? 2 : 0);
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('Installing npm packages (npm install)…');
  const install = spawnSync('npm', ['install'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('npm install failed; see its output above.');
    process.exit(1);
  }
}

try {
  ensureSystemPrograms('local');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

function dockerAnswers(): boolean {
  const probe = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

const DOCKER_NOT_YET =
  'Docker deployment arrives in a later version of Zeus; run the stack as local processes ' +
  'with: npx tsx deploy.ts --local';

if (args.includes('--docker')) {
  console.error(DOCKER_NOT_YET);
  process.exit(2);
}
if (!args.includes('--local') && dockerAnswers()) {
  console.log(`A Docker engine answers, but ${DOCKER_NOT_YET}. Running locally instead.`);
}

const { deployLocally } = await import('./deploy/local-deploy.ts');
process.exit(await deployLocally());
