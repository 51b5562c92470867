/**
 * The zeus CLI against the stack: Ctrl-C during generate cancels the job; cancel and retry by id.
 * On the stack of tests/e2e/job-control.test.ts (harness.ts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../../deploy/local-stack.ts';
import { holdWorker } from '../../helpers/hold-worker.ts';
import { KEYS, stack, dir, jobOf } from './harness.ts';

/** The tests of `describe('the command line')`. */
export function theCommandLine(): void {
  const ZEUS_BIN = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'zeus');
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    ZEUS_URL: stack.url,
    ZEUS_API_KEY: KEYS.gina,
  });

  async function zeus(...args: string[]): Promise<{ code: number | null; stdout: string }> {
    const child = spawn(ZEUS_BIN, args, {
      cwd: dir,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout: Buffer.concat(chunks).toString() };
  }

  it('cancels the job on Ctrl-C during generate, and cancels and retries by id', async () => {
    // The worker is held throughout: the jobs wait, however long the commands take to start,
    // so that Ctrl-C and `cancel` find them still to be cancelled (the tiny model would
    // otherwise finish one in about two seconds). Ctrl-C comes once generate follows its job.
    const release = await holdWorker(stack);
    try {
      await ctrlCThenCancelById();
    } finally {
      release();
    }
  }, 60_000);

  async function ctrlCThenCancelById(): Promise<void> {
    const child = spawn(
      ZEUS_BIN,
      ['generate', 'interrupted', '--width', '256', '--height', '256', '--frames', '17', '--json'],
      { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const closed = once(child, 'close');
    const events: { event: string; id?: string; status?: string; message?: string }[] = [];
    let interrupted = false;
    for await (const line of createInterface({ input: child.stdout })) {
      const event = JSON.parse(line) as (typeof events)[number];
      events.push(event);
      if (!interrupted && event.event === 'progress') {
        interrupted = true;
        child.kill('SIGINT');
      }
    }
    const [code] = (await closed) as [number | null];
    expect(code).toBe(130);
    const id = events[0]?.id ?? '';
    expect(events.at(-1)).toMatchObject({
      event: 'error',
      code: 'INTERRUPTED',
      message: `Interrupted: cancelled job ${id}.`,
    });
    expect((await jobOf('gina', id)).status).toBe('CANCELLED');

    const retried = await zeus('retry', id);
    expect(retried.code).toBe(0);
    const newId = /^Queued job (\S+) \(retry of /.exec(retried.stdout)?.[1] ?? '';
    expect(await jobOf('gina', newId)).toMatchObject({
      retryOf: id,
      settings: { prompt: 'interrupted' },
    });
    const cancelled = await zeus('cancel', newId, '--json');
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toEqual({
      event: 'cancelled',
      id: newId,
      status: 'CANCELLED',
    });
    const again = await zeus('cancel', newId, '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({
      event: 'error',
      code: 'JOB_ALREADY_FINISHED',
    });
  }
}
