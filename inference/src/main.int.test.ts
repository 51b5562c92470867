/**
 * The worker process itself (`inference/src/main.ts`): settings that cannot work here stop it
 * at start with EXIT_CONFIG and a message that says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_CONFIG } from '@zeus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeNvenc } from './video/nvenc-probe.ts';

const MAIN = join(import.meta.dirname, 'main.ts');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-worker-main-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Workers still running when a test ends (it timed out): stopped then. */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs the worker with only `env` set; resolves with its exit code and standard error. No
 * deadline of its own (a busy machine may take long to start it): the test's limit ends a hang.
 */
function runWorker(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(child);
    child.once('close', () => running.delete(child));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stderr });
    });
  });
}

describe('worker process', () => {
  it('refuses a bad ZEUS_VAE_TILE with every other bad setting, in one error', async () => {
    const { code, stderr } = await runWorker({
      ZEUS_VAE_TILE: '500',
      ZEUS_TEXT_ENCODER: 'nowhere',
      ZEUS_MODEL: 'tiny-random',
      REDIS_URL: 'redis://127.0.0.1:9',
    });
    expect(stderr).toContain(
      'ZEUS_VAE_TILE: must be off or a tile size in pixels, a multiple of 32 from 128 to 4096 (got "500")',
    );
    expect(stderr).toContain('ZEUS_TEXT_ENCODER');
    expect(code).toBe(EXIT_CONFIG);
  });

  it('with ZEUS_VIDEO_ENCODER=nvenc where NVENC does not work, exits at once saying why', async (context) => {
    const probe = await probeNvenc();
    if (probe.works) context.skip();
    const { code, stderr } = await runWorker({
      ZEUS_VIDEO_ENCODER: 'nvenc',
      ZEUS_MODEL: 'tiny-random',
      ZEUS_MODELS_DIR: join(dir, 'models'),
      ZEUS_GENERATED_DIR: join(dir, 'generated'),
      // Never reached: the encoder is checked first.
      REDIS_URL: 'redis://127.0.0.1:9',
      ZEUS_WORKER_PORT: '0',
    });
    expect(stderr).toContain(
      "ZEUS_VIDEO_ENCODER is nvenc, but ffmpeg's h264_nvenc cannot encode here: ",
    );
    expect(code).toBe(EXIT_CONFIG);
  });
});
