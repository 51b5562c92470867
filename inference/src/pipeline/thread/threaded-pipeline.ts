/**
 * `ThreadedPipeline`: the LTX pipeline run in a `node:worker_threads` Worker (model-thread.ts).
 *
 * onnxruntime-node runs each model synchronously on the thread that calls it, so a denoising
 * step on the worker's main thread would stall BullMQ's lock renewal, the heartbeat, progress
 * publishing and the ffmpeg feed for as long as the step takes. Here the sessions live on a
 * thread of their own: the main thread only receives progress and frames (their bytes
 * transferred, not copied) and writes the frames to the sink, at most FRAMES_IN_FLIGHT behind.
 *
 * - Aborting a job rejects `generate` at once with the signal's reason; the thread stops at its
 *   next check (after the denoising step or the frame under way: a shared flag, read even while
 *   model runs keep its event loop busy) and the next job waits for it.
 * - Errors keep their class and code (see protocol.ts).
 * - If the thread dies, the job it was running fails with a ModelThreadError, and the next job
 *   starts a new thread and loads the model again (reporting LOADING_MODEL).
 *
 * The thread runs TypeScript through tsx like the worker process (`node --import tsx`): a
 * Worker does not inherit tsx's loader from `--import`, so the thread is started from a small
 * module that registers tsx first, then imports the entry.
 */
import type { Worker } from 'node:worker_threads';
import type { GenerationSettings } from '@zeus/core';
import type { LtxPipelineInfo, ModelLoadProgress } from '../../ltx/pipeline-types.ts';
import type { GenerationHooks, VideoPipeline } from '../types.ts';
import { spawnThread } from './spawn.ts';
import {
  deserializeError,
  ModelThreadError,
  type FromModelThread,
  type ThreadPipelineOptions,
  type ToModelThread,
} from './protocol.ts';

export interface ThreadedPipelineOptions {
  readonly pipeline: ThreadPipelineOptions;
  readonly onLoadProgress?: (progress: ModelLoadProgress) => void;
  /** After each load: what the pipeline chose (provider, precision, text encoder placement). */
  readonly onLoaded?: (info: LtxPipelineInfo) => void;
  /** The thread stopped unexpectedly (it is started again for the next job). */
  readonly onThreadExit?: (reason: string) => void;
  /** How long `dispose` waits for a busy thread to reach the end of its model run. Default 30 s. */
  readonly disposeGraceMs?: number;
  /** Each denoising step lasts at least this long: pacing for tests and demos (default 0). */
  readonly minStepMs?: number;
}

const ENTRY = new URL('./model-thread.ts', import.meta.url);

interface Job {
  readonly id: number;
  readonly hooks: GenerationHooks;
  settled: boolean;
  written: number;
  writes: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

interface Thread {
  readonly worker: Worker;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<void>;
  alive: boolean;
}

export class ThreadedPipeline implements VideoPipeline {
  readonly name: string;
  readonly totalSteps: number;
  private thread: Thread | undefined;
  private loading: Promise<LtxPipelineInfo> | undefined;
  private loadWaiter:
    { resolve(info: LtxPipelineInfo): void; reject(error: unknown): void } | undefined;
  private job: Job | undefined;
  /** Resolves when the thread has finished the last job it was given (even an aborted one). */
  private threadIdle: Promise<void> = Promise.resolve();
  private markIdle: (() => void) | undefined;
  private nextId = 0;
  private disposed = false;

  constructor(private readonly options: ThreadedPipelineOptions) {
    this.name = options.pipeline.name;
    this.totalSteps = options.pipeline.steps ?? 8;
  }

  /** Starts the thread and loads the model in it (converting it first when needed). */
  async load(): Promise<void> {
    await this.ensureLoaded();
  }

  async generate(settings: GenerationSettings, hooks: GenerationHooks): Promise<void> {
    const { signal } = hooks;
    signal.throwIfAborted();
    await this.threadIdle;
    if (this.loading === undefined) {
      hooks.onProgress({ stage: 'LOADING_MODEL', step: 0, totalSteps: this.totalSteps });
    }
    await this.ensureLoaded();
    signal.throwIfAborted();
    const thread = this.thread;
    if (thread === undefined)
      throw new ModelThreadError('Error', 'The model thread is not running');
    const id = ++this.nextId;
    this.threadIdle = new Promise((resolve) => {
      this.markIdle = resolve;
    });
    const stopFlag = new SharedArrayBuffer(4);
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        // The flag reaches the thread between two model runs; the message, when it is idle.
        const stop = new Int32Array(stopFlag);
        Atomics.store(stop, 0, 1);
        Atomics.notify(stop, 0);
        this.post({ type: 'abort', id });
        settle(() => {
          // The caller's own reason, unchanged (the worker recognises its shutdown by it).
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(signal.reason);
        });
      };
      const settle = (finish: () => void): void => {
        if (job.settled) return;
        job.settled = true;
        signal.removeEventListener('abort', onAbort);
        finish();
      };
      const job: Job = {
        id,
        hooks,
        settled: false,
        written: 0,
        writes: Promise.resolve(),
        resolve: () => {
          settle(resolve);
        },
        reject: (error) => {
          settle(() => {
            // The sink's or the thread's error, unchanged.
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
            reject(error);
          });
        },
      };
      this.job = job;
      signal.addEventListener('abort', onAbort, { once: true });
      this.post({
        type: 'generate',
        id,
        settings,
        previews: hooks.onPreview !== undefined,
        stopFlag,
        minStepMs: this.options.minStepMs ?? 0,
        ...(hooks.firstFrame === undefined ? {} : { firstFrame: hooks.firstFrame }),
      });
    });
  }

  /**
   * Releases the model: the thread releases its sessions and ends. A thread busy in a long model
   * run gets `disposeGraceMs` to reach the end of it; after that it is left to end with the
   * process (stopping it from outside mid-run would abort the process, see protocol.ts).
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    const thread = this.thread;
    this.thread = undefined;
    this.loading = undefined;
    if (thread === undefined || !thread.alive) return;
    const disposed = this.disposedByThread(thread);
    thread.worker.postMessage({ type: 'dispose' } satisfies ToModelThread);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, this.options.disposeGraceMs ?? 30_000);
    });
    const outcome = await Promise.race([thread.exited, disposed, grace]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      thread.worker.unref();
      return;
    }
    // Released: nothing of ONNX Runtime runs any more, so stopping the thread is safe.
    await thread.worker.terminate();
  }

  private disposedByThread(thread: Thread): Promise<void> {
    return new Promise((resolve) => {
      const listener = (message: FromModelThread): void => {
        if (message.type !== 'disposed') return;
        thread.worker.off('message', listener);
        resolve();
      };
      thread.worker.on('message', listener);
    });
  }

  private ensureLoaded(): Promise<LtxPipelineInfo> {
    if (this.disposed) return Promise.reject(new Error('The pipeline was disposed'));
    if (this.loading !== undefined) return this.loading;
    const thread = this.startThread();
    const loading = new Promise<LtxPipelineInfo>((resolve, reject) => {
      this.loadWaiter = { resolve, reject };
    });
    this.loading = loading;
    // A failed load leaves no thread behind: the next try starts afresh.
    loading.catch(() => {
      if (this.loading === loading) this.loading = undefined;
      if (this.thread === thread) {
        this.thread = undefined;
        // Idle after a failed load: ending it from outside is safe.
        void thread.worker.terminate();
      }
    });
    thread.worker.postMessage({
      type: 'load',
      options: this.options.pipeline,
    } satisfies ToModelThread);
    return loading;
  }

  private startThread(): Thread {
    const worker = spawnThread(ENTRY);
    let exitReason = '';
    const thread: Thread = {
      worker,
      alive: true,
      exited: new Promise((resolve) => {
        worker.once('exit', (code) => {
          thread.alive = false;
          this.onExit(thread, exitReason || `exit code ${code}`);
          resolve();
        });
      }),
    };
    worker.on('error', (error) => {
      exitReason = error.message;
    });
    worker.on('message', (message: FromModelThread) => {
      this.onMessage(message);
    });
    this.thread = thread;
    return thread;
  }

  private onMessage(message: FromModelThread): void {
    switch (message.type) {
      case 'load-progress':
        this.options.onLoadProgress?.(message.progress);
        return;
      case 'loaded':
        this.options.onLoaded?.(message.info);
        this.loadWaiter?.resolve(message.info);
        this.loadWaiter = undefined;
        return;
      case 'load-failed':
        this.loadWaiter?.reject(deserializeError(message.error));
        this.loadWaiter = undefined;
        return;
      case 'progress': {
        const job = this.jobFor(message.id);
        if (job !== undefined && !job.settled) job.hooks.onProgress(message.progress);
        return;
      }
      case 'preview': {
        const job = this.jobFor(message.id);
        if (job === undefined || job.settled) return;
        const { step, width, height } = message;
        job.hooks.onPreview?.({ step, width, height, rgb: new Uint8Array(message.rgb) });
        return;
      }
      case 'stats': {
        const job = this.jobFor(message.id);
        if (job !== undefined && !job.settled) job.hooks.onStats?.(message.stats);
        return;
      }
      case 'frame': {
        const job = this.jobFor(message.id);
        if (job === undefined) return;
        const frame = new Uint8Array(message.data);
        job.writes = job.writes.then(async () => {
          if (job.settled) return;
          try {
            await job.hooks.frames.write(frame);
          } catch (error) {
            this.post({ type: 'abort', id: job.id });
            job.reject(error);
            return;
          }
          job.written++;
          this.post({ type: 'ack', id: job.id, frames: job.written });
        });
        return;
      }
      case 'done': {
        const job = this.jobFor(message.id);
        this.finishJob(message.id);
        void job?.writes.then(() => {
          job.resolve();
        });
        return;
      }
      case 'failed': {
        const job = this.jobFor(message.id);
        this.finishJob(message.id);
        job?.reject(deserializeError(message.error));
        return;
      }
      case 'disposed':
        return;
    }
  }

  private jobFor(id: number): Job | undefined {
    return this.job?.id === id ? this.job : undefined;
  }

  private finishJob(id: number): void {
    if (this.job?.id === id) this.job = undefined;
    this.markIdle?.();
    this.markIdle = undefined;
  }

  private onExit(thread: Thread, reason: string): void {
    if (this.thread === thread) {
      this.thread = undefined;
      this.loading = undefined;
    }
    const error = new ModelThreadError(
      'Error',
      `The model thread stopped unexpectedly (${reason})`,
    );
    this.loadWaiter?.reject(error);
    this.loadWaiter = undefined;
    const job = this.job;
    this.job = undefined;
    job?.reject(error);
    this.markIdle?.();
    this.markIdle = undefined;
    if (!this.disposed) this.options.onThreadExit?.(reason);
  }

  private post(message: ToModelThread): void {
    const thread = this.thread;
    if (thread?.alive === true) thread.worker.postMessage(message);
  }
}
