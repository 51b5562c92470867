import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHostStep, runWhileLocked } from './docker-deploy.ts';
import { IMAGE_USER } from './docker-plan.ts';

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

describe('runHostStep', () => {
  it('makes the folders, again without complaint', async () => {
    const paths = [join(dir, 'host', 'models', 'tiny-random'), join(dir, 'host', 'generated')];
    await runHostStep({ kind: 'mkdir', paths, chown: undefined });
    await runHostStep({ kind: 'mkdir', paths, chown: undefined });
    for (const path of paths) expect(statSync(path).isDirectory()).toBe(true);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, gives the folders and what is in them to the images’ user, not what links point to',
    async () => {
      const outside = join(dir, 'outside.txt');
      await writeFile(outside, 'not ours');
      const models = join(dir, 'owned', 'models');
      await mkdir(join(models, 'tiny-random'), { recursive: true });
      await writeFile(join(models, 'tiny-random', 'weights.bin'), 'w');
      await symlink(outside, join(models, 'link'));
      await runHostStep({ kind: 'mkdir', paths: [models], chown: IMAGE_USER });
      for (const path of [models, join(models, 'tiny-random', 'weights.bin')]) {
        expect(statSync(path).uid).toBe(IMAGE_USER.uid);
        expect(statSync(path).gid).toBe(IMAGE_USER.gid);
      }
      expect(lstatSync(join(models, 'link')).uid).toBe(IMAGE_USER.uid);
      expect(statSync(outside).uid).toBe(0);
    },
  );

  it('moves an old model folder with everything in it', async () => {
    const from = join(dir, 'moved', 'models', 'cache', 'tiny-random');
    const to = join(dir, 'moved', 'models', 'tiny-random');
    await mkdir(join(from, 'onnx'), { recursive: true });
    await writeFile(join(from, 'onnx', 'vae.onnx'), 'graph');
    await runHostStep({ kind: 'move', from, to });
    expect(existsSync(from)).toBe(false);
    expect(readFileSync(join(to, 'onnx', 'vae.onnx'), 'utf8')).toBe('graph');
  });

  it('writes and removes the override file', async () => {
    const path = join(dir, 'docker-compose.override.yml');
    await runHostStep({ kind: 'write-file', path, content: 'services: {}\n' });
    expect(existsSync(path)).toBe(true);
    await runHostStep({ kind: 'remove-file', path });
    await runHostStep({ kind: 'remove-file', path });
    expect(existsSync(path)).toBe(false);
  });
});
