/**
 * A helper thread for the sampler's JavaScript work between two transformer runs
 * (sampler-thread.ts): the next step's Gaussian draw and the live preview's projection are
 * computed there while the model thread is blocked inside the transformer's run, instead of
 * before or after it. Results are bit-identical to computing them in place (the same pure
 * functions, `gaussian` and `projectPreview`), so nothing a parity check sees changes.
 *
 * The thread is unref'd: an idle helper never keeps a process alive.
 */
import type { Worker } from 'node:worker_threads';
import { previewFrame, type LatentPreview, type PreviewProjection } from '../../ltx/preview.ts';
import type { LatentShape } from '../../sampler/latents.ts';
import { spawnThread } from './spawn.ts';

export type ToSamplerThread =
  | {
      readonly id: number;
      readonly kind: 'gaussian';
      readonly seed: number;
      readonly stream: number;
      readonly start: number;
      readonly count: number;
    }
  | {
      readonly id: number;
      readonly kind: 'preview';
      readonly projection: PreviewProjection;
      readonly shape: LatentShape;
      readonly latents: Float32Array;
      readonly velocity: Float32Array;
      readonly timestep: number;
      readonly step: number;
    };

export type FromSamplerThread =
  | { readonly id: number; readonly data: Float32Array }
  | { readonly id: number; readonly preview: LatentPreview }
  | { readonly id: number; readonly error: string };

const ENTRY = new URL('./sampler-thread.ts', import.meta.url);

export class SamplerHelper {
  private readonly worker: Worker;
  private next = 0;
  private readonly pending = new Map<
    number,
    { resolve: (reply: FromSamplerThread) => void; reject: (error: Error) => void }
  >();
  private failure: Error | undefined;

  constructor() {
    this.worker = spawnThread(ENTRY);
    this.worker.unref();
    this.worker.on('message', (reply: FromSamplerThread) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiting?.reject(new Error(`The sampler thread failed: ${reply.error}`));
      else waiting?.resolve(reply);
    });
    const fail = (error: Error): void => {
      this.failure = error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      fail(new Error(`The sampler thread exited (code ${code})`));
    });
  }

  /** `gaussian(seed, stream, start, count)` (noise.ts), computed on the helper thread. */
  gaussian(seed: number, stream: number, start: number, count: number): Promise<Float32Array> {
    return this.ask({ kind: 'gaussian', seed, stream, start, count }).then((reply) => {
      if (!('data' in reply)) throw new Error('The sampler thread answered a draw without data');
      return reply.data;
    });
  }

  /**
   * `projectPreview(...)` (preview.ts), computed on the helper thread from a copy of the one
   * latent frame it reads.
   */
  preview(
    projection: PreviewProjection,
    shape: LatentShape,
    latents: Float32Array,
    velocity: Float32Array,
    timestep: number,
    step: number,
  ): Promise<LatentPreview> {
    const plane = shape.height * shape.width * shape.channels;
    const first = previewFrame(shape) * plane;
    return this.ask({
      kind: 'preview',
      projection,
      // One frame, whose middle frame is itself.
      shape: { ...shape, frames: 1 },
      latents: latents.slice(first, first + plane),
      velocity: velocity.slice(first, first + plane),
      timestep,
      step,
    }).then((reply) => {
      if (!('preview' in reply)) throw new Error('The sampler thread answered without a preview');
      return reply.preview;
    });
  }

  /** Ends the thread; what is still pending is rejected. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private ask(message: DistributiveOmit<ToSamplerThread, 'id'>): Promise<FromSamplerThread> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
