/**
 * The pipeline in its model thread, for real (tiny-random on ONNX Runtime, tsx in the thread):
 * the same frames as in-process, the model's work off the main thread, errors with their class
 * and code, cancellation, a failing sink, and a thread that dies.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure, type GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec, type ModelFiles } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LtxPipeline } from '../../ltx/pipeline.ts';
import type { GenerationHooks, PipelineProgress } from '../types.ts';
import { FRAMES_IN_FLIGHT, ModelThreadError } from './protocol.ts';
import { ThreadedPipeline } from './threaded-pipeline.ts';

let dir: string;
let files: ModelFiles;
let threaded: ThreadedPipeline;
const exits: string[] = [];

const settings: GenerationSettings = {
  prompt: 'a lighthouse in a storm',
  negativePrompt: '',
  width: 128,
  height: 96,
  numFrames: 25,
  frameRate: 24,
  seed: 77,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-threaded-pipeline-'));
  files = await ensureModelFiles(modelSpec('tiny-random'), join(dir, 'tiny-random'));
  threaded = new ThreadedPipeline({
    pipeline: { name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 },
    onThreadExit: (reason) => exits.push(reason),
  });
  await threaded.load();
});
afterAll(async () => {
  await threaded.dispose();
  await rm(dir, { recursive: true, force: true });
});

function collector(signal = new AbortController().signal) {
  const frames: Uint8Array[] = [];
  const progress: PipelineProgress[] = [];
  const hooks: GenerationHooks = {
    onProgress: (update) => progress.push(update),
    frames: {
      write: (frame) => {
        frames.push(frame);
        return Promise.resolve();
      },
    },
    signal,
  };
  return { frames, progress, hooks };
}

/** Linux's clock tick (USER_HZ), the unit of /proc's CPU times. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user and system, in clock ticks) of this process's main thread only. */
function mainThreadCpuTicks(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces), from field 3: utime is 14th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function digest(frames: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const frame of frames) hash.update(frame);
  return hash.digest('hex');
}

describe('ThreadedPipeline', () => {
  it('gives exactly the frames and progress of the pipeline run in-process', async () => {
    const inThread = collector();
    await threaded.generate(settings, inThread.hooks);

    const local = new LtxPipeline({ name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 });
    await local.load();
    const inProcess = collector();
    await local.generate(settings, inProcess.hooks);
    await local.dispose();

    expect(inThread.frames).toHaveLength(25);
    expect(digest(inThread.frames)).toBe(digest(inProcess.frames));
    expect(inThread.progress).toEqual(inProcess.progress);
  });

  it('runs the model off the main thread, which a run in-process keeps busy', async () => {
    // What keeps the worker's event loop free for lock renewal, heartbeats and progress is that
    // the model's work is done elsewhere: counted in the main thread's own CPU time, which,
    // unlike the time the loop waited, no other load on the machine can lengthen.
    const job = { ...settings, width: 256, height: 256, numFrames: 33 };
    const mainThreadCpuMs = async (pipeline: LtxPipeline | ThreadedPipeline): Promise<number> => {
      const before = mainThreadCpuTicks();
      await pipeline.generate(job, collector().hooks);
      return ((mainThreadCpuTicks() - before) * 1_000) / CLOCK_TICKS_PER_SECOND;
    };
    const local = new LtxPipeline({ name: 'tiny-random', files, device: 'cpu', intraOpThreads: 1 });
    await local.load();
    const inProcess = await mainThreadCpuMs(local);
    await local.dispose();
    const inThread = await mainThreadCpuMs(threaded);
    console.log(
      `main thread CPU for one job: ${inProcess} ms in-process, ${inThread} ms with the thread`,
    );
    expect(inThread).toBeLessThan(inProcess / 2);
  });

  it('brings errors back with their class, code and message', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const failure = await threaded
      .generate({ ...settings, prompt: long }, collector().hooks)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure).toMatchObject({
      code: 'INVALID_JOB',
      message: expect.stringMatching(/limit is 255 tokens/) as unknown,
    });
  });

  it('rejects at once with the abort reason, and runs the next job normally', async () => {
    const controller = new AbortController();
    const reason = new Error('worker shutting down');
    const run = collector(controller.signal);
    const aborted = threaded.generate(settings, {
      ...run.hooks,
      onProgress: (update) => {
        if (update.stage === 'DENOISING' && update.step === 2) controller.abort(reason);
      },
    });
    await expect(aborted).rejects.toBe(reason);
    expect(run.frames).toHaveLength(0);
    const next = collector();
    await threaded.generate(settings, next.hooks);
    expect(next.frames).toHaveLength(25);
  });

  it('fails the job with the sink’s error when the sink fails', async () => {
    const broken = new Error('ffmpeg went away');
    const run = collector();
    const failure = threaded.generate(settings, {
      ...run.hooks,
      frames: { write: () => Promise.reject(broken) },
    });
    await expect(failure).rejects.toBe(broken);
    const next = collector();
    await threaded.generate(settings, next.hooks);
    expect(next.frames).toHaveLength(25);
  });

  it('fails the running job when the thread dies, then starts a new one for the next job', async () => {
    const run = collector();
    // The sink takes no frame until the thread has died: the thread stops at its window of
    // frames in flight (FRAMES_IN_FLIGHT of the 25), so the job cannot finish before the crash
    // lands, however late a busy machine delivers it (under load it once did).
    expect(settings.numFrames).toBeGreaterThan(FRAMES_IN_FLIGHT);
    let releaseSink = (): void => undefined;
    const sinkHeld = new Promise<void>((resolve) => {
      releaseSink = resolve;
    });
    const dying = threaded.generate(settings, {
      ...run.hooks,
      frames: { write: () => sinkHeld },
      onProgress: (update) => {
        if (update.stage === 'DENOISING' && update.step === 1) {
          threaded['thread']?.worker.postMessage({ type: 'crash' });
        }
      },
    });
    await expect(dying).rejects.toBeInstanceOf(ModelThreadError);
    await expect(dying).rejects.toThrow(/model thread stopped unexpectedly/);
    releaseSink();
    expect(exits).toHaveLength(1);

    const next = collector();
    await threaded.generate(settings, next.hooks);
    expect(next.progress[0]?.stage).toBe('LOADING_MODEL');
    expect(next.frames).toHaveLength(25);
  });
});
