/**
 * The sampler's helper thread (started by sampler-helper.ts): the per-step work in JavaScript
 * that does not feed the next model run, done here while the model thread is blocked in it.
 * ONNX Runtime's Node binding runs a session synchronously on the calling thread, so nothing
 * on the model thread can overlap a run: Gaussian draws and preview projections come here.
 */
import { parentPort } from 'node:worker_threads';
import { projectPreview } from '../../ltx/preview.ts';
import { gaussian } from '../../sampler/noise.ts';
import type { FromSamplerThread, ToSamplerThread } from './sampler-helper.ts';

if (parentPort === null) throw new Error('sampler-thread.ts runs as a worker thread');
const port = parentPort;

port.on('message', (message: ToSamplerThread) => {
  try {
    if (message.kind === 'gaussian') {
      const data = gaussian(message.seed, message.stream, message.start, message.count);
      const reply: FromSamplerThread = { id: message.id, data };
      port.postMessage(reply, [data.buffer as ArrayBuffer]);
    } else {
      const preview = projectPreview(
        message.projection,
        message.shape,
        message.latents,
        message.velocity,
        message.timestep,
        message.step,
      );
      const reply: FromSamplerThread = { id: message.id, preview };
      port.postMessage(reply, [preview.rgb.buffer as ArrayBuffer]);
    }
  } catch (error) {
    const reply: FromSamplerThread = {
      id: message.id,
      error: error instanceof Error ? error.message : String(error),
    };
    port.postMessage(reply);
  }
});
