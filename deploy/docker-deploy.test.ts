import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWhileLocked } from './docker-deploy.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-run-while-locked-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runWhileLocked', () => {
  it('starts the workers as soon as the download creates its lock, while it still runs', async () => {
    const lockFile = join(dir, 'model-a', '.zeus-files.lock');
    await rm(join(dir, 'model-a'), { recursive: true, force: true });
    await mkdir(join(dir, 'model-a'));
    let finishDownload!: (status: number) => void;
    let workersStarted!: () => void;
    const workersStartedPromise = new Promise<void>((resolve) => {
      workersStarted = resolve;
    });
    let downloadRunning = false;
    const result = runWhileLocked(
      lockFile,
      async () => {
        downloadRunning = true;
        const finished = new Promise<number>((resolve) => {
          finishDownload = resolve;
        });
        await writeFile(lockFile, '');
        return finished;
      },
      () => {
        // The download has not ended: the workers start while it holds the lock.
        expect(downloadRunning).toBe(true);
        workersStarted();
        return Promise.resolve('up');
      },
    );
    await workersStartedPromise;
    finishDownload(0);
    expect(await result).toEqual({ status: 0, started: 'up' });
  });

  it('starts them when the download ends if it never took the lock, and only once', async () => {
    const lockFile = join(dir, '.zeus-files.lock');
    expect(existsSync(lockFile)).toBe(false);
    let starts = 0;
    const result = await runWhileLocked(
      lockFile,
      () => Promise.resolve(1),
      () => Promise.resolve(++starts),
    );
    expect(result).toEqual({ status: 1, started: 1 });

    await writeFile(lockFile, '');
    const again = await runWhileLocked(
      lockFile,
      async () => {
        await writeFile(lockFile, 'touched');
        return 0;
      },
      () => Promise.resolve(++starts),
    );
    expect(again).toEqual({ status: 0, started: 2 });
  });
});
