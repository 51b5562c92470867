/**
 * The `tiny-random` pipeline until the LTX-Video pipeline lands: a small stand-in with the same
 * shape of work, run for real on ONNX Runtime. Three graphs with fixed pseudo-random weights
 * (built in memory with the project's ONNX graph builder):
 *
 *   text encoder  prompt characters → conditioning vector (Gather, ReduceMean, Tanh)
 *   transformer   latent, timestep, conditioning → velocity (MatMul, Tanh, Div), run once per
 *                 denoising step with the project's rectified-flow Euler sampler
 *   decoder       two latent frames and a blend factor → one RGB24 frame at full size
 *                 (MatMul, Resize, Sigmoid, Cast), run once per output frame
 *
 * Latents have the real model's geometry (32× smaller in space, 8× in time, plus the first
 * frame), so sizes and frame counts behave as they will with the real model. The negative
 * prompt is not used: the distilled model it stands in for runs without guidance.
 */
import type { GenerationSettings } from '@zeus/core';
import { attr, GraphBuilder, tensorFromTyped } from '@zeus/models';
import { ModelSession, tensor, type Device } from '../onnx/runtime.ts';
import { eulerStep, gaussian, linearQuadraticSchedule } from '../sampler/index.ts';
import type { GenerationHooks, VideoPipeline } from './types.ts';

/** Latent channels (the real model has 128; a few are enough to make colours and motion). */
const LATENT_CHANNELS = 16;
/** Width of the prompt conditioning vector. */
const CONDITIONING_SIZE = 32;
const SPATIAL_COMPRESSION = 32;
const TEMPORAL_COMPRESSION = 8;
/** Seed of the fixed weights: the same model everywhere, every time. */
const WEIGHTS_SEED = 20_240_601;
/** TensorProto.DataType of uint8, for Cast. */
const ONNX_UINT8 = 2;

/** Deterministic weights, normal with the given scale. */
function weights(stream: number, shape: readonly number[], scale: number) {
  const count = shape.reduce((product, size) => product * size, 1);
  const values = gaussian(WEIGHTS_SEED, stream, 0, count).map((value) => value * scale);
  return tensorFromTyped('float32', shape, values);
}

async function textEncoderGraph(): Promise<Uint8Array> {
  const g = new GraphBuilder({ name: 'placeholder_text_encoder' });
  const codes = g.input('char_codes', 'int64', ['chars']);
  const table = g.initializer('embedding', 'float32', [256, CONDITIONING_SIZE], () =>
    weights(1, [256, CONDITIONING_SIZE], 1),
  );
  const embedded = g.op('Gather', [table, codes]);
  const pooled = g.op('ReduceMean', [embedded, g.ints([0])], {
    keepdims: attr.i(0),
  });
  g.output(g.op('Tanh', [pooled]), 'conditioning', 'float32', [CONDITIONING_SIZE]);
  return g.toBytes();
}

async function transformerGraph(): Promise<Uint8Array> {
  const g = new GraphBuilder({ name: 'placeholder_transformer' });
  const latent = g.input('latent', 'float32', [LATENT_CHANNELS, 'frames', 'height', 'width']);
  const conditioning = g.input('conditioning', 'float32', [CONDITIONING_SIZE]);
  const timestep = g.input('timestep', 'float32', []);
  const project = g.initializer('project', 'float32', [1, CONDITIONING_SIZE], () =>
    weights(2, [1, CONDITIONING_SIZE], 0.5),
  );
  const channelMix = g.initializer(
    'channel_mix',
    'float32',
    [LATENT_CHANNELS, LATENT_CHANNELS],
    () => weights(3, [LATENT_CHANNELS, LATENT_CHANNELS], 1 / Math.sqrt(LATENT_CHANNELS)),
  );
  const channelBias = g.initializer(
    'channel_bias',
    'float32',
    [LATENT_CHANNELS, CONDITIONING_SIZE],
    () => weights(4, [LATENT_CHANNELS, CONDITIONING_SIZE], 0.5),
  );
  // Per-channel bias from the prompt: [C, D] · [D] → [C, 1, 1, 1].
  const bias = g.op('Reshape', [
    g.op('MatMul', [channelBias, conditioning]),
    g.ints([LATENT_CHANNELS, 1, 1, 1]),
  ]);
  const gain = g.op('MatMul', [project, conditioning]); // [1]
  // Mix channels at every position: [C, C] · [C, N] → [C, N], back to the latent's shape.
  const flat = g.op('Reshape', [latent, g.ints([LATENT_CHANNELS, -1])]);
  const mixed = g.op('Reshape', [g.op('MatMul', [channelMix, flat]), g.op('Shape', [latent])]);
  const clean = g.op('Tanh', [g.op('Add', [g.op('Mul', [mixed, gain]), bias])]);
  // Rectified flow: x_t = (1 − t)·x₀ + t·ε, so the velocity ε − x₀ is (x_t − x₀) / t.
  const velocity = g.op('Div', [g.op('Sub', [latent, clean]), timestep]);
  g.output(velocity, 'velocity', 'float32', [LATENT_CHANNELS, 'frames', 'height', 'width']);
  return g.toBytes();
}

async function decoderGraph(): Promise<Uint8Array> {
  const g = new GraphBuilder({ name: 'placeholder_decoder' });
  const from = g.input('latent_from', 'float32', [LATENT_CHANNELS, 'height', 'width']);
  const to = g.input('latent_to', 'float32', [LATENT_CHANNELS, 'height', 'width']);
  const blend = g.input('blend', 'float32', []);
  const size = g.input('size', 'int64', [2]);
  const toRgb = g.initializer('to_rgb', 'float32', [3, LATENT_CHANNELS], () =>
    weights(5, [3, LATENT_CHANNELS], 2 / Math.sqrt(LATENT_CHANNELS)),
  );
  const latent = g.op('Add', [from, g.op('Mul', [g.op('Sub', [to, from]), blend])]);
  const flat = g.op('Reshape', [latent, g.ints([LATENT_CHANNELS, -1])]);
  const latentSize = g.op('Slice', [g.op('Shape', [latent]), g.ints([1]), g.ints([3])]);
  const rgbSmall = g.op('Reshape', [
    g.op('MatMul', [toRgb, flat]),
    g.op('Concat', [g.ints([1, 3]), latentSize], { axis: attr.i(0) }),
  ]);
  const rgb = g.op(
    'Resize',
    [rgbSmall, '', '', g.op('Concat', [g.ints([1, 3]), size], { axis: attr.i(0) })],
    {
      mode: attr.s('linear'),
    },
  );
  const scaled = g.op('Mul', [g.op('Sigmoid', [rgb]), g.scalar(255)]);
  const pixels = g.op('Cast', [g.op('Transpose', [scaled], { perm: attr.ints([0, 2, 3, 1]) })], {
    to: attr.i(ONNX_UINT8),
  });
  g.output(pixels, 'frame', 'uint8', [1, 'out_height', 'out_width', 3]);
  return g.toBytes();
}

interface Sessions {
  readonly textEncoder: ModelSession;
  readonly transformer: ModelSession;
  readonly decoder: ModelSession;
}

export class PlaceholderPipeline implements VideoPipeline {
  readonly name = 'tiny-random';
  readonly totalSteps: number;
  private sessions: Sessions | null = null;

  constructor(private readonly options: { readonly device: Device; readonly steps: number }) {
    this.totalSteps = options.steps;
  }

  async load(): Promise<void> {
    const device = this.options.device;
    const [textEncoder, transformer, decoder] = await Promise.all([
      textEncoderGraph().then((bytes) =>
        ModelSession.load(bytes, { device, name: 'text encoder' }),
      ),
      transformerGraph().then((bytes) => ModelSession.load(bytes, { device, name: 'transformer' })),
      decoderGraph().then((bytes) => ModelSession.load(bytes, { device, name: 'decoder' })),
    ]);
    this.sessions = { textEncoder, transformer, decoder };
  }

  async generate(settings: GenerationSettings, hooks: GenerationHooks): Promise<void> {
    const sessions = this.sessions;
    if (sessions === null) throw new Error('The pipeline is not loaded.');
    const { signal } = hooks;
    const totalSteps = this.totalSteps;
    const latentFrames = Math.floor((settings.numFrames - 1) / TEMPORAL_COMPRESSION) + 1;
    const height = settings.height / SPATIAL_COMPRESSION;
    const width = settings.width / SPATIAL_COMPRESSION;
    const latentShape = [LATENT_CHANNELS, latentFrames, height, width];

    hooks.onProgress({ stage: 'ENCODING_PROMPT', step: 0, totalSteps });
    signal.throwIfAborted();
    const codes = BigInt64Array.from(settings.prompt, (char) =>
      BigInt((char.codePointAt(0) ?? 0) % 256),
    );
    const { conditioning } = await sessions.textEncoder.run({
      char_codes: tensor('int64', codes, [codes.length]),
    });
    if (conditioning === undefined) throw new Error('The text encoder gave no conditioning.');

    hooks.onProgress({ stage: 'DENOISING', step: 0, totalSteps });
    const schedule = linearQuadraticSchedule(totalSteps);
    let latent = gaussian(
      settings.seed,
      0,
      0,
      latentShape.reduce((a, b) => a * b, 1),
    );
    for (let step = 0; step < totalSteps; step += 1) {
      signal.throwIfAborted();
      const timestep = schedule[step] ?? 0;
      const { velocity } = await sessions.transformer.run({
        latent: tensor('float32', latent, latentShape),
        conditioning,
        timestep: tensor('float32', Float32Array.of(timestep), []),
      });
      if (velocity === undefined) throw new Error('The transformer gave no velocity.');
      latent = eulerStep({
        sample: latent,
        velocity: velocity.data as Float32Array,
        timestep,
        schedule,
      });
      hooks.onProgress({ stage: 'DENOISING', step: step + 1, totalSteps });
    }

    hooks.onProgress({ stage: 'DECODING', step: totalSteps, totalSteps });
    const frameValues = LATENT_CHANNELS * height * width;
    /** Channels-first values of one latent frame. */
    const latentFrame = (index: number): Float32Array => {
      const out = new Float32Array(frameValues);
      const plane = height * width;
      for (let channel = 0; channel < LATENT_CHANNELS; channel += 1) {
        const start = (channel * latentFrames + index) * plane;
        out.set(latent.subarray(start, start + plane), channel * plane);
      }
      return out;
    };
    const latentFrameShape = [LATENT_CHANNELS, height, width];
    const size = tensor(
      'int64',
      BigInt64Array.of(BigInt(settings.height), BigInt(settings.width)),
      [2],
    );
    for (let frame = 0; frame < settings.numFrames; frame += 1) {
      signal.throwIfAborted();
      // Output frame f sits f/8 of the way through the latent frames (the first maps to the first).
      const position = frame / TEMPORAL_COMPRESSION;
      const from = Math.min(Math.floor(position), latentFrames - 1);
      const to = Math.min(from + 1, latentFrames - 1);
      const { frame: pixels } = await sessions.decoder.run({
        latent_from: tensor('float32', latentFrame(from), latentFrameShape),
        latent_to: tensor('float32', latentFrame(to), latentFrameShape),
        blend: tensor('float32', Float32Array.of(position - from), []),
        size,
      });
      if (pixels === undefined) throw new Error('The decoder gave no frame.');
      await hooks.frames.write(pixels.data as Uint8Array);
    }
  }

  async dispose(): Promise<void> {
    const sessions = this.sessions;
    this.sessions = null;
    if (sessions === null) return;
    await Promise.all([
      sessions.textEncoder.release(),
      sessions.transformer.release(),
      sessions.decoder.release(),
    ]);
  }
}
