import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHostStep, runWhileLocked, workersReady, type WorkerRow } from './docker-deploy.ts';
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

describe('workersReady (when "Deployment complete." may be printed)', () => {
  const model = 'ltxv-2b-0.9.6-distilled';
  const services = ['inference', 'inference-2', 'inference-3', 'inference-4'];
  const row = (id: string, ready: boolean, overrides: Partial<WorkerRow> = {}): WorkerRow => ({
    id,
    status: 'ONLINE',
    ready,
    model,
    ...overrides,
  });

  it('waits while one of four GPUs has the model, though all four are online', () => {
    const wait = workersReady(services, model, {
      from: 'workers',
      rows: [
        row('inference-1', true),
        row('inference-2', false),
        row('inference-3', false),
        row('inference-4', false),
      ],
    });
    expect(wait).toEqual({ from: 'workers', ready: 1, online: 4, expected: 4, done: false });
  });

  it('is done once every worker of the deployment is online with the model', () => {
    const rows = [1, 2, 3, 4].map((n) => row(`inference-${n}`, true));
    expect(workersReady(services, model, { from: 'workers', rows }).done).toBe(true);
    expect(workersReady(['inference'], model, { from: 'workers', rows }).done).toBe(true);
  });

  it('does not count GONE workers, another model, or workers that are not the deployment’s', () => {
    const wait = workersReady(['inference', 'inference-2'], model, {
      from: 'workers',
      rows: [
        row('inference-1', true),
        row('inference-2', true, { status: 'GONE' }),
        row('inference-3', true),
        row('gpu-box-7', true),
        row('inference-2', true, { model: 'tiny-random' }),
      ],
    });
    expect(wait).toEqual({ from: 'workers', ready: 1, online: 2, expected: 2, done: false });
  });

  it('with API keys on, counts the worker containers Docker reports healthy', () => {
    const container = (service: string, state: string, health: string) => ({
      service,
      state,
      health,
      exitCode: 0,
    });
    const waiting = workersReady(['inference', 'inference-2'], model, {
      from: 'containers',
      rows: [
        container('inference', 'running', 'healthy'),
        container('inference-2', 'running', 'starting'),
        container('app1', 'running', 'healthy'),
      ],
    });
    expect(waiting).toEqual({ from: 'containers', ready: 1, online: 2, expected: 2, done: false });
    const done = workersReady(['inference', 'inference-2'], model, {
      from: 'containers',
      rows: [
        container('inference', 'running', 'healthy'),
        container('inference-2', 'running', 'healthy'),
      ],
    });
    expect(done.done).toBe(true);
  });

  it('is never done with nothing to wait for, or nothing answering', () => {
    expect(workersReady(services, model, { from: 'workers', rows: [] }).done).toBe(false);
    expect(workersReady(services, model, { from: 'containers', rows: [] }).done).toBe(false);
  });
});
