/**
 * The end-to-end tests' usual stack: Redis, the API servers and Caddy with one worker running the
 * tiny model on the CPU, in a temporary folder of its own (`data/`, `generated/` and the
 * worker's `models/` under `dir`). `env` adds settings or overrides these. Called from a hook with
 * Vitest's default hook limit or a longer one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import { STACK_READY_MS } from './limits.ts';

export async function startTinyStack(
  name: string,
  env: Readonly<Record<string, string>>,
  /** A folder to use (the caller removes it); default: a new one. */
  existingDir?: string,
): Promise<{ readonly stack: LocalStack; readonly dir: string }> {
  const dir = existingDir ?? (await mkdtemp(join(tmpdir(), `zeus-${name}-`)));
  try {
    const stack = await startLocalStack({
      dataDir: join(dir, 'data'),
      generatedDir: join(dir, 'generated'),
      port: 0,
      workers: 1,
      waitForModel: true,
      // Not the stack's own 60 s: the hook's limit, less the time to stop (see limits.ts).
      readyTimeoutMs: STACK_READY_MS,
      env: {
        ZEUS_MODEL: 'tiny-random',
        // The worker generates the tiny model's files here and converts them.
        ZEUS_MODELS_DIR: join(dir, 'models'),
        ZEUS_DEVICE: 'cpu',
        ZEUS_LOG_LEVEL: 'warn',
        ...env,
      },
    });
    return { stack, dir };
  } catch (error) {
    if (existingDir === undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
