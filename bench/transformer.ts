/**
 * Benchmark (not a test): the LTX-Video 2B transformer (D 2048, 32 heads, 28 layers, caption
 * 4096) with deterministic random weights, timed for one denoising step on an execution
 * provider, with peak memory.
 *
 *   npm run bench:transformer -- [--device cpu|cuda|webgpu] [--width 768 --height 512
 *     --frames 121] [--dtype fp32|fp16] [--layers 28] [--runs 3] [--threads N]
 *     [--prompt-tokens 64] [--cache-dir DIR]
 *
 * The model is written once (weights streamed straight to external data, one tensor at a
 * time) into the conversion cache under --cache-dir (default: the OS temp folder) and reused.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTransformerGraph,
  convertCached,
  parseLtxCheckpointConfig,
  SeededRandom,
  transformerTensorShapes,
  type LtxTransformerConfig,
  type TransformerDType,
} from '@zeus/models';
import {
  fractionalCoordinates,
  gaussian,
  latentShapeOf,
  LtxTransformer,
  tokenCount,
  type Device,
} from '@zeus/inference';
import { scriptArgs } from './lib/script-args.ts';

const USAGE = `npm run bench:transformer -- [options]
  --device cpu|cuda|webgpu|auto   execution provider (cpu)
  --width N --height N --frames N video size (256, 256, 9); production: 768 512 121
  --dtype fp32|fp16               weights (fp32)
  --layers N                      transformer blocks (28, the real model)
  --runs N                        timed steps (3)
  --prompt-tokens N               unmasked text tokens (64)
  --threads N                     CPU threads (ONNX Runtime's default)
  --cache-dir DIR                 where the model is written once (the OS temp folder)`;

const { values, fail } = scriptArgs(USAGE, {
  device: { type: 'string', default: 'cpu' },
  width: { type: 'string', default: '256' },
  height: { type: 'string', default: '256' },
  frames: { type: 'string', default: '9' },
  dtype: { type: 'string', default: 'fp32' },
  layers: { type: 'string', default: '28' },
  runs: { type: 'string', default: '3' },
  'prompt-tokens': { type: 'string', default: '64' },
  threads: { type: 'string' },
  'cache-dir': { type: 'string', default: join(tmpdir(), 'zeus-bench') },
});

const device = values.device as Device;
if (!['cpu', 'cuda', 'webgpu', 'auto'].includes(device)) fail(`Unknown device ${device}`);
if (values.dtype !== 'fp32' && values.dtype !== 'fp16') fail('--dtype is fp32 or fp16');
const dtype: TransformerDType = values.dtype === 'fp16' ? 'float16' : 'float32';
const layers = Number(values.layers);
const runs = Number(values.runs);
const TEXT_TOKENS = 256;
/** Unmasked text tokens (the rest is padding, left out of the run as the pipeline does). */
const promptTokens = Number(values['prompt-tokens']);

/** The real 2B model's config (docs/model/pipeline.md §1.3), with --layers blocks. */
function config2b(): LtxTransformerConfig {
  const transformer = {
    activation_fn: 'gelu-approximate',
    attention_bias: true,
    attention_head_dim: 64,
    num_attention_heads: 32,
    num_layers: layers,
    caption_channels: 4096,
    cross_attention_dim: 2048,
    in_channels: 128,
    out_channels: 128,
    norm_elementwise_affine: false,
    norm_eps: 1e-6,
    qk_norm: 'rms_norm',
    standardization_norm: 'rms_norm',
    positional_embedding_type: 'rope',
    positional_embedding_theta: 10000.0,
    positional_embedding_max_pos: [20, 2048, 2048],
    timestep_scale_multiplier: 1000,
    causal_temporal_positioning: true,
  };
  const scheduler = { sampler: 'LinearQuadratic', shifting: null, num_train_timesteps: 1000 };
  return parseLtxCheckpointConfig(JSON.stringify({ transformer, vae: {}, scheduler }), 'bench')
    .transformer;
}

/**
 * Fast deterministic weights (uniform, unit variance times a fan-in scale: realistic
 * activation sizes, so fp16 behaves as with trained weights).
 */
function randomWeights(config: LtxTransformerConfig): (name: string) => Promise<Float32Array> {
  const shapes = transformerTensorShapes(config);
  return (name) => {
    const shape = shapes.get(name) ?? [];
    const count = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(count);
    const random = new SeededRandom(1).stream(name);
    let scale = shape.length === 2 ? Math.sqrt(3 / (shape[1] ?? 1)) : Math.sqrt(3) * 0.02;
    const offset = name.endsWith('norm.weight') ? 1 : 0;
    if (name.endsWith('scale_shift_table')) scale = Math.sqrt(3) * 0.1;
    for (let i = 0; i < count; i++) out[i] = offset + random.between(-scale, scale);
    return Promise.resolve(out);
  };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const config = config2b();
  const video = {
    width: Number(values.width),
    height: Number(values.height),
    frames: Number(values.frames),
  };
  const shape = latentShapeOf(video);
  const tokens = tokenCount(shape);
  console.log(
    `LTX-Video 2B transformer: D ${config.innerDim}, ${config.numAttentionHeads} heads, ` +
      `${config.numLayers} layers, ${dtype}; ${video.width}x${video.height}x${video.frames} → ` +
      `${tokens} tokens, ${promptTokens} of ${TEXT_TOKENS} text tokens; device ${device}`,
  );

  let lastReport = 0;
  const started = performance.now();
  const converted = await convertCached({
    cacheRoot: values['cache-dir'],
    component: 'bench-ltx-transformer',
    dtype: values.dtype,
    converterVersion: 1,
    sources: [],
    options: { layers, weights: 'seeded-random-v1' },
    build: (dir, onProgress) =>
      buildTransformerGraph(config, randomWeights(config), { dtype }).save(
        join(dir, 'model.onnx'),
        {
          onProgress,
        },
      ),
    onProgress: (event) => {
      if (event.kind !== 'writing' || event.bytesWritten - lastReport < event.bytesTotal / 10)
        return;
      lastReport = event.bytesWritten;
      console.log(`  writing weights: ${gib(event.bytesWritten)} of ${gib(event.bytesTotal)}`);
    },
  });
  console.log(
    `model ${converted.fromCache ? 'reused from' : 'written to'} ${converted.dir} ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const loadStarted = performance.now();
  const transformer = await LtxTransformer.load(converted.modelPath, config, {
    device,
    ...(values.threads === undefined ? {} : { intraOpThreads: Number(values.threads) }),
  });
  console.log(
    `session on ${transformer.provider} loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s, ` +
      `RSS ${gib(process.memoryUsage.rss())}`,
  );

  const conditioning = transformer.condition({
    textEmbeddings: gaussian(1, 0, 0, TEXT_TOKENS * config.captionChannels),
    textMask: Array.from({ length: TEXT_TOKENS }, (_, i) => (i < promptTokens ? 1 : 0)),
    textTokens: TEXT_TOKENS,
    grid: fractionalCoordinates(shape, 25),
  });
  const latents = gaussian(2, 0, 0, tokens * config.inChannels);
  const times: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const stepStarted = performance.now();
    const velocity = await transformer.velocity(conditioning, latents, 0.9094);
    const ms = performance.now() - stepStarted;
    if (velocity.some((value) => !Number.isFinite(value))) throw new Error('Non-finite velocity');
    console.log(`  ${run === 0 ? 'warm-up' : `run ${run}`}: ${ms.toFixed(0)} ms`);
    if (run > 0) times.push(ms);
  }
  await transformer.release();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? NaN;
  console.log(
    `one step: median ${median.toFixed(0)} ms, best ${(times[0] ?? NaN).toFixed(0)} ms ` +
      `(${runs} runs); peak RSS ${gib(peakRss())}`,
  );
}

await main();
