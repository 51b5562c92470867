/** Starting a worker thread from a module of this package (TypeScript or built). */
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on `entry`. A `.ts` entry is loaded through tsx, registered inside the
 * thread (the parent's `--import tsx` does not reach worker threads).
 */
export function spawnThread(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `const { register } = await import(${JSON.stringify(tsx)});\n` +
    `register();\n` +
    `await import(${JSON.stringify(entry.href)});\n`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}
