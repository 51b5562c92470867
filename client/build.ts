/**
 * Builds the web app and the playground into client/dist with Vite, unless the build there is
 * newer than every source file. Caddy serves that folder; `deploy.ts --local` and the browser
 * tests call this first so they never serve a stale or missing app. (About 5 s on two cores.)
 *
 *   import { ensureClientBuilt } from '@zeus/client/build';
 *   await ensureClientBuilt();
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENT_DIR = dirname(fileURLToPath(import.meta.url));
export const DIST_DIR = join(CLIENT_DIR, 'dist');
/** Written after a successful build: the newest source time it was built from, and its mode. */
const STAMP = join(DIST_DIR, '.zeus-build.json');
/**
 * The only mode Zeus builds in. Vite makes a development build whenever NODE_ENV is set to anything
 * else, and vitest sets NODE_ENV=test in the process that runs the global setup: without forcing
 * it, a test run would leave a React development build (jsxDEV calls, dev-only warnings, several
 * times larger) in client/dist for Caddy to serve to users.
 */
export const BUILD_MODE = 'production';
const SOURCES = [
  'index.html',
  'playground.html',
  'vite.config.ts',
  'boot-script.ts',
  'first-visit.ts',
  'precompiled-documents.ts',
  'package.json',
  'src',
];

async function newestModification(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) {
    newest = Math.max(newest, await newestModification(join(path, entry)));
  }
  return newest;
}

/** The newest modification time of the app's sources. */
export async function sourcesModifiedAt(): Promise<number> {
  const times = await Promise.all(
    SOURCES.map((source) => newestModification(join(CLIENT_DIR, source))),
  );
  return Math.max(...times);
}

/**
 * True when a build stamp says the build is a production build made from sources no older than
 * `sourcesTime`. A stamp without a mode comes from before the mode was recorded, when test runs
 * left development builds behind, so it counts as stale.
 */
export function isStampFresh(stamp: unknown, sourcesTime: number): boolean {
  if (typeof stamp !== 'object' || stamp === null) return false;
  const { sourcesModifiedAt: builtFrom, mode } = stamp as Record<string, unknown>;
  return mode === BUILD_MODE && typeof builtFrom === 'number' && builtFrom >= sourcesTime;
}

/** True when client/dist is a production build of the sources as they are now. */
export async function isBuildFresh(): Promise<boolean> {
  let stamp: unknown;
  try {
    stamp = JSON.parse(await readFile(STAMP, 'utf8'));
  } catch {
    return false;
  }
  return isStampFresh(stamp, await sourcesModifiedAt());
}

/** Runs `vite build` for the client; rejects with Vite's output when it fails. */
export async function buildClient(): Promise<void> {
  const sourcesTime = await sourcesModifiedAt();
  const vite = join(
    dirname(createRequire(import.meta.url).resolve('vite/package.json')),
    'bin',
    'vite.js',
  );
  const child = spawn(
    process.execPath,
    [vite, 'build', '--mode', BUILD_MODE, '--logLevel', 'warn'],
    {
      cwd: CLIENT_DIR,
      env: { ...process.env, NODE_ENV: BUILD_MODE },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) {
    throw new Error(
      `Building the web app failed (vite exited with ${code}):\n${Buffer.concat(output).toString()}`,
    );
  }
  await writeFile(
    STAMP,
    `${JSON.stringify({ sourcesModifiedAt: sourcesTime, mode: BUILD_MODE })}\n`,
  );
}

/**
 * Builds client/dist when it is missing, older than the sources or not a production build; says
 * whether it built.
 */
export async function ensureClientBuilt(): Promise<{
  readonly built: boolean;
  readonly dir: string;
}> {
  if (await isBuildFresh()) return { built: false, dir: DIST_DIR };
  await buildClient();
  return { built: true, dir: DIST_DIR };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { built } = await ensureClientBuilt();
  console.log(
    built ? `Built the web app into ${DIST_DIR}` : `The web app in ${DIST_DIR} is up to date`,
  );
}
