/**
 * The model thread's entry (a `node:worker_threads` Worker started by threaded-pipeline.ts):
 * it holds the LtxPipeline and its ONNX Runtime sessions, whose runs block this thread rather
 * than the worker's event loop. See protocol.ts for the messages.
 */
import { parentPort } from 'node:worker_threads';
import { LtxPipeline } from '../../ltx/pipeline.ts';
import type { FrameSink, LatentPreview } from '../types.ts';
import {
  FRAMES_IN_FLIGHT,
  serializeError,
  type FromModelThread,
  type ToModelThread,
} from './protocol.ts';

if (parentPort === null) throw new Error('model-thread.ts runs as a worker thread');
const port = parentPort;

const send = (message: FromModelThread, transfer: ArrayBuffer[] = []): void => {
  port.postMessage(message, transfer);
};

let pipeline: LtxPipeline | undefined;
/** The load in progress: `dispose` waits for it (the sessions it creates must be released). */
let loading: Promise<void> | undefined;
/** A job being generated: its abort controller and the sink's flow control. */
interface Job {
  readonly id: number;
  readonly controller: AbortController;
  /** Frames the main thread's sink has taken. */
  acked: number;
  wakeUp: (() => void) | undefined;
}

let current: Job | undefined;

port.on('message', (message: ToModelThread) => {
  switch (message.type) {
    case 'load':
      loading = load(message.options);
      return;
    case 'generate':
      void generate(message);
      return;
    case 'abort':
      if (current?.id === message.id) current.controller.abort(new Error('aborted'));
      return;
    case 'ack':
      if (current?.id === message.id) {
        current.acked = message.frames;
        current.wakeUp?.();
      }
      return;
    case 'dispose':
      void dispose();
      return;
    case 'crash':
      setImmediate(() => {
        throw new Error('model thread crash (fault injection)');
      });
      return;
  }
});

async function load(options: Extract<ToModelThread, { type: 'load' }>['options']): Promise<void> {
  try {
    const loaded = new LtxPipeline({
      ...options,
      onLoadProgress: (progress) => {
        send({ type: 'load-progress', progress });
      },
    });
    await loaded.load();
    pipeline = loaded;
    const { info } = loaded;
    if (info === undefined) throw new Error('The pipeline loaded without its facts');
    send({ type: 'loaded', info });
  } catch (error) {
    send({ type: 'load-failed', error: serializeError(error) });
  }
}

async function generate({
  id,
  settings,
  firstFrame,
  previews,
  stopFlag,
  minStepMs,
}: Extract<ToModelThread, { type: 'generate' }>): Promise<void> {
  const job: Job = { id, controller: new AbortController(), acked: 0, wakeUp: undefined };
  current = job;
  job.controller.signal.addEventListener('abort', () => job.wakeUp?.(), { once: true });
  // The stop flag is read between steps even when no message can arrive (a model run keeps
  // the event loop busy): the job then stops at the pipeline's next check.
  const stop = new Int32Array(stopFlag);
  const checkStop = (): void => {
    if (Atomics.load(stop, 0) !== 0 && !job.controller.signal.aborted) {
      job.controller.abort(new Error('aborted'));
    }
  };
  let stepStartedAt = performance.now();
  let sent = 0;
  const frames: FrameSink = {
    write: async (frame) => {
      checkStop();
      job.controller.signal.throwIfAborted();
      // The frame is this thread's own copy (cropFrame): hand its memory over, don't copy it.
      const data =
        frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength
          ? (frame.buffer as ArrayBuffer)
          : frame.slice().buffer;
      send({ type: 'frame', id, index: sent, data }, [data]);
      sent++;
      while (sent - job.acked >= FRAMES_IN_FLIGHT && !job.controller.signal.aborted) {
        await new Promise<void>((resolve) => {
          job.wakeUp = resolve;
        });
        job.wakeUp = undefined;
      }
      job.controller.signal.throwIfAborted();
    },
  };
  try {
    if (pipeline === undefined) throw new Error('The pipeline is not loaded.');
    await pipeline.generate(settings, {
      onProgress: (progress) => {
        if (progress.stage === 'DENOISING') {
          const wait = minStepMs - (performance.now() - stepStartedAt);
          // Sleeps, waking at once if the job is stopped meanwhile.
          if (progress.step > 0 && wait > 0) Atomics.wait(stop, 0, 0, wait);
          stepStartedAt = performance.now();
        }
        checkStop();
        send({ type: 'progress', id, progress });
      },
      frames,
      signal: job.controller.signal,
      onStats: (stats) => {
        send({ type: 'stats', id, stats });
      },
      ...(firstFrame === undefined ? {} : { firstFrame }),
      ...(previews
        ? {
            onPreview: (preview: LatentPreview) => {
              const rgb = preview.rgb.slice().buffer;
              const { step, width, height } = preview;
              send({ type: 'preview', id, step, width, height, rgb }, [rgb]);
            },
          }
        : {}),
    });
    send({ type: 'done', id });
  } catch (error) {
    send({ type: 'failed', id, error: serializeError(error) });
  } finally {
    if (current === job) current = undefined;
  }
}

async function dispose(): Promise<void> {
  current?.controller.abort(new Error('disposed'));
  await loading;
  await pipeline?.dispose();
  pipeline = undefined;
  send({ type: 'disposed' });
  // Nothing left to wait for: the thread ends once the port is closed.
  port.close();
}
