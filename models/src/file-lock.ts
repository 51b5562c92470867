/**
 * A lock between processes, possibly on other machines sharing the folder (NFS, a Kubernetes
 * volume): a file created with O_EXCL. The holder touches it every `refreshMs`; one that nobody
 * has touched for `staleMs` was left by a process that died, and the next comer takes it over.
 * The model store (downloads) and the conversion cache both use it.
 */
import { open, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** A lock untouched for this long is taken over. */
  readonly staleMs: number;
  /** How often the holder touches the lock (well under `staleMs`). */
  readonly refreshMs: number;
  /** How often a waiter tries again. */
  readonly pollMs: number;
  /** Stops waiting (the wait rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
  /** Called once, when the lock is held by another and this starts waiting. */
  readonly onWait?: (() => void) | undefined;
}

/** Runs `work` holding the lock at `lockPath`, waiting for another holder to finish first. */
export async function withFileLock<T>(
  lockPath: string,
  options: FileLockOptions,
  work: () => Promise<T>,
): Promise<T> {
  let announced = false;
  while (!(await tryLock(lockPath, options.staleMs))) {
    if (!announced) {
      announced = true;
      options.onWait?.();
    }
    await sleep(
      options.pollMs,
      undefined,
      options.signal === undefined ? {} : { signal: options.signal },
    );
  }
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, options.refreshMs);
  refresh.unref();
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    await rm(lockPath, { force: true });
  }
}

/** Creates the lock file, taking over one that was not touched for `staleMs`. */
async function tryLock(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx');
    await handle.writeFile(`${process.pid}@${hostname()}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // The lock may vanish between the two calls: then try again on the next poll.
  const info = await stat(lockPath).catch(() => undefined);
  if (info !== undefined && Date.now() - info.mtimeMs > staleMs) {
    await rm(lockPath, { force: true });
    return tryLock(lockPath, staleMs);
  }
  return false;
}
