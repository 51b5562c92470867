/**
 * Benchmark (not a test): the whole text-to-video pipeline as the worker runs it (LtxPipeline in
 * its model thread, frames piped into ffmpeg as they are decoded), timed stage by stage:
 * tokenising, the T5 encoder, each denoising step, the VAE decode (first frame, last frame),
 * the MP4 encoding and how long the MP4 takes to be playable after the last decoded frame
 * (the overlap of decoding and encoding: near zero when ffmpeg keeps up), with peak memory;
 * per step, the JavaScript time on the model thread between two transformer runs (the GPU
 * waits for it) and the bytes that crossed into and out of ONNX Runtime (host traffic), and the
 * host traffic of the whole video.
 *
 *   npm run bench:pipeline -- [--model tiny|2b] [--layers 28] [--t5-layers 24]
 *     [--device cpu|cuda|webgpu|auto] [--width 256 --height 256 --frames 33] [--fps 25]
 *     [--precision fp16|fp32] [--text-encoder auto|gpu|cpu|on-demand] [--chunk-frames 8]
 *     [--runs 2] [--threads N] [--dir DIR]
 *
 * --model tiny (default) runs the tiny-random set (the worker's ZEUS_MODEL=tiny-random): every
 * path of the real pipeline at toy widths. --model 2b writes a set with the real architecture
 * (transformer D 2048, 32 heads, caption 4096; VAE decoder 128 base channels; T5 v1.1 XXL
 * d 4096, 64 heads, d_ff 10240, vocabulary 32128) and deterministic random weights, with
 * --layers transformer blocks and --t5-layers encoder blocks (the real 28 and 24 by default;
 * fewer to fit a small machine); its tokenizer is the tiny one. On a GPU machine:
 *
 *   npm run bench:pipeline -- --model 2b --device cuda --width 768 --height 512 --frames 121
 *
 * Model sets and their converted graphs are kept under --dir (default: the OS temp folder), so
 * only the first run pays for writing and converting them. The first generation after loading
 * is reported too but left out of the summary (warm-up).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Mp4Writer,
  ThreadedPipeline,
  type Device,
  type GenerationStats,
  type LtxPipelineInfo,
  type Precision,
  type TextEncoderSetting,
} from '@zeus/inference';
import {
  ensureModelFiles,
  modelSpec,
  SeededRandom,
  T5Tokenizer,
  type ModelFiles,
} from '@zeus/models';
import {
  checkpointTensorPlan,
  tinyCheckpointConfig,
  tinySpieceModel,
  tinyT5Config,
  tinyTokenizerJsonFiles,
  tinyTokenizerPieces,
  type TensorPlan,
} from '@zeus/models/tiny';
import { scriptArgs } from './lib/script-args.ts';

const USAGE = `npm run bench:pipeline -- [options]
  --model tiny|2b                 tiny-random, or the real architecture with random weights (tiny)
  --layers N --t5-layers N        2b only: transformer and T5 blocks (28, 24)
  --device cpu|cuda|webgpu|auto   execution provider (cpu)
  --width N --height N --frames N video size (256, 256, 33)
  --fps N                         frame rate of the MP4 (25)
  --precision fp16|fp32           the worker's ZEUS_PRECISION (its default for the device)
  --text-encoder auto|gpu|cpu|on-demand
                                  where T5 runs (auto)
  --chunk-frames N                latent frames per VAE call (8)
  --runs N                        generations after the warm-up one (2)
  --threads N                     CPU threads (ONNX Runtime's default)
  --dir DIR                       where model sets are written once (the OS temp folder)`;

const { values, fail } = scriptArgs(USAGE, {
  model: { type: 'string', default: 'tiny' },
  layers: { type: 'string', default: '28' },
  't5-layers': { type: 'string', default: '24' },
  device: { type: 'string', default: 'cpu' },
  width: { type: 'string', default: '256' },
  height: { type: 'string', default: '256' },
  frames: { type: 'string', default: '33' },
  fps: { type: 'string', default: '25' },
  precision: { type: 'string' },
  'text-encoder': { type: 'string', default: 'auto' },
  'chunk-frames': { type: 'string', default: '8' },
  runs: { type: 'string', default: '2' },
  threads: { type: 'string' },
  dir: { type: 'string', default: join(tmpdir(), 'zeus-bench') },
});

const PROMPT =
  'A red fox trots through fresh snow at dawn, its breath visible in the cold air, while the ' +
  'low sun paints the pine forest gold; the camera follows at ground level in a slow tracking ' +
  'shot, shallow depth of field, soft cinematic lighting, fine detail in the fur and the snow.';

const width = Number(values.width);
const height = Number(values.height);
const numFrames = Number(values.frames);
const frameRate = Number(values.fps);
const runs = Math.max(1, Number(values.runs));
const device = values.device as Device;
if (values.model !== 'tiny' && values.model !== '2b') fail('--model is tiny or 2b');
if (!['cpu', 'cuda', 'webgpu', 'auto'].includes(device)) fail(`Unknown device ${device}`);
if (values.precision !== undefined && !['fp16', 'fp32'].includes(values.precision)) {
  fail('--precision is fp16 or fp32');
}
const textEncoder = values['text-encoder'] as TextEncoderSetting;
if (!['auto', 'gpu', 'cpu', 'on-demand'].includes(textEncoder)) {
  fail('--text-encoder is auto, gpu, cpu or on-demand');
}

// ---------------------------------------------------------------------------------------------
// The model set

/** Fast deterministic uniform values with the plan's mean and spread (weights nobody reads). */
function fillValues(plan: TensorPlan, out: Float32Array, random: SeededRandom): void {
  const uniform = (): number => random.uniform() - 0.5; // [-0.5, 0.5): std 1/√12
  const init = plan.init;
  const normalish = (mean: number, std: number): void => {
    const scale = std * Math.sqrt(12);
    for (let i = 0; i < out.length; i++) out[i] = mean + uniform() * scale;
  };
  switch (init.kind) {
    case 'weight': {
      const fanIn = plan.shape.slice(1).reduce((product, dim) => product * dim, 1);
      normalish(0, init.gain / Math.sqrt(fanIn));
      return;
    }
    case 'normal':
      normalish(init.mean, init.std);
      return;
    case 'uniform':
      for (let i = 0; i < out.length; i++) {
        out[i] = init.low + (uniform() + 0.5) * (init.high - init.low);
      }
      return;
    case 'index':
      for (let i = 0; i < out.length; i++) out[i] = i;
      return;
  }
}

/** Writes a bf16 safetensors file tensor by tensor (never more than one tensor in memory). */
async function writeStreamedSafetensors(
  path: string,
  plans: readonly TensorPlan[],
  metadata: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const plan of plans) {
    const bytes = plan.shape.reduce((product, dim) => product * dim, 1) * 2;
    header[plan.name] = {
      dtype: 'BF16',
      shape: plan.shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((Buffer.byteLength(text) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(length);
    await handle.write(headerBytes);
    for (const plan of plans) {
      const values = new Float32Array(plan.shape.reduce((product, dim) => product * dim, 1));
      fillValues(plan, values, new SeededRandom(1).stream(plan.name));
      // bf16 = the upper half of each float32 (truncation: fine for random weights).
      const words = new Uint32Array(values.buffer);
      const half = new Uint16Array(values.length);
      for (let i = 0; i < words.length; i++) half[i] = (words[i] ?? 0) >>> 16;
      await handle.write(new Uint8Array(half.buffer));
    }
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

/** T5 v1.1 encoder tensors of a size (the layout of PixArt's text_encoder folder). */
function t5Plan(sizes: {
  dModel: number;
  dKv: number;
  heads: number;
  dFf: number;
  layers: number;
  vocabSize: number;
}): TensorPlan[] {
  const plans: TensorPlan[] = [];
  const inner = sizes.heads * sizes.dKv;
  const weight = (name: string, out: number, inputs: number): void => {
    plans.push({ name, shape: [out, inputs], init: { kind: 'weight', gain: 1 } });
  };
  const norm = (name: string): void => {
    plans.push({ name, shape: [sizes.dModel], init: { kind: 'normal', mean: 1, std: 0.1 } });
  };
  plans.push({
    name: 'shared.weight',
    shape: [sizes.vocabSize, sizes.dModel],
    init: { kind: 'normal', mean: 0, std: 1 },
  });
  for (let i = 0; i < sizes.layers; i++) {
    const block = `encoder.block.${i}`;
    weight(`${block}.layer.0.SelfAttention.q.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.k.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.v.weight`, inner, sizes.dModel);
    weight(`${block}.layer.0.SelfAttention.o.weight`, sizes.dModel, inner);
    if (i === 0) {
      plans.push({
        name: `${block}.layer.0.SelfAttention.relative_attention_bias.weight`,
        shape: [32, sizes.heads],
        init: { kind: 'normal', mean: 0, std: 0.5 },
      });
    }
    norm(`${block}.layer.0.layer_norm.weight`);
    weight(`${block}.layer.1.DenseReluDense.wi_0.weight`, sizes.dFf, sizes.dModel);
    weight(`${block}.layer.1.DenseReluDense.wi_1.weight`, sizes.dFf, sizes.dModel);
    weight(`${block}.layer.1.DenseReluDense.wo.weight`, sizes.dModel, sizes.dFf);
    norm(`${block}.layer.1.layer_norm.weight`);
  }
  norm('encoder.final_layer_norm.weight');
  return plans;
}

/** The real architecture with random weights, written once into `dir`. */
async function randomRealModel(dir: string, layers: number, t5Layers: number): Promise<ModelFiles> {
  // Sets written before the encoder's weights were included lack them: they are rewritten.
  const done = join(dir, '.complete-with-encoder');
  const files: ModelFiles = {
    name: 'ltxv-2b-0.9.6-distilled',
    dir,
    checkpoint: join(dir, 'checkpoint', 'random-2b.safetensors'),
    textEncoderDir: join(dir, 'text_encoder'),
    textEncoderConfig: join(dir, 'text_encoder', 'config.json'),
    textEncoderIndex: join(dir, 'text_encoder', 'model.safetensors.index.json'),
    textEncoderShards: [join(dir, 'text_encoder', 'model.safetensors')],
    tokenizerDir: join(dir, 'tokenizer'),
    spieceModel: join(dir, 'tokenizer', 'spiece.model'),
    onnxDir: join(dir, 'onnx'),
  };
  if (existsSync(done)) return files;
  await rm(dir, { recursive: true, force: true });
  for (const folder of ['checkpoint', 'text_encoder', 'tokenizer']) {
    await mkdir(join(dir, folder), { recursive: true });
  }
  const sizes = {
    heads: 32,
    headDim: 64,
    layers,
    captionChannels: 4096,
    encoderBaseChannels: 128,
    decoderBaseChannels: 128,
  };
  log(`writing a random 2B set (${layers} transformer layers, ${t5Layers} T5 layers) to ${dir}…`);
  const started = performance.now();
  // Every tensor, the VAE encoder's included: LtxPipeline.load converts it (image-to-video and
  // the live-preview fit use it).
  await writeStreamedSafetensors(files.checkpoint, checkpointTensorPlan(sizes), {
    config: JSON.stringify(tinyCheckpointConfig(sizes)),
  });
  const t5Sizes = {
    dModel: 4096,
    dKv: 64,
    heads: 64,
    dFf: 10240,
    layers: t5Layers,
    vocabSize: 32128,
  };
  await writeFile(files.textEncoderConfig, `${JSON.stringify(tinyT5Config(t5Sizes), null, 2)}\n`);
  await writeStreamedSafetensors(join(dir, 'text_encoder', 'model.safetensors'), t5Plan(t5Sizes), {
    format: 'pt',
  });
  const pieceCount = tinyTokenizerPieces().length;
  await writeFile(files.spieceModel, tinySpieceModel());
  for (const [name, content] of Object.entries(tinyTokenizerJsonFiles(pieceCount))) {
    await writeFile(join(dir, 'tokenizer', name), `${JSON.stringify(content, null, 2)}\n`);
  }
  await writeFile(done, '');
  log(`  written in ${seconds(performance.now() - started)}`);
  return files;
}

// ---------------------------------------------------------------------------------------------
// Measuring

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** Peak resident memory of this process (all its threads), from /proc (Linux). */
async function peakRssBytes(): Promise<number | undefined> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Polls nvidia-smi's used memory while running; the largest value seen, in bytes. */
function gpuMemoryWatcher(): { stop(): number | undefined } {
  let peak: number | undefined;
  const poll = (): void => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=memory.used', '--format=csv,noheader,nounits'],
      (error, stdout) => {
        if (error !== null) return;
        const used = Number(stdout.split('\n')[0]) * 2 ** 20;
        if (Number.isFinite(used)) peak = Math.max(peak ?? 0, used);
      },
    );
  };
  poll();
  const timer = setInterval(poll, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

interface RunTimes {
  tokenizeMs: number;
  encodeMs: number;
  stepMs: number[];
  firstFrameMs: number;
  decodeMs: number;
  mp4Ms: number;
  /** Last decoded frame → playable MP4. */
  tailMs: number;
  totalMs: number;
  stats: GenerationStats | undefined;
}

async function generateOnce(
  pipeline: ThreadedPipeline,
  tokenizer: T5Tokenizer,
  prompt: string,
  outDir: string,
): Promise<RunTimes> {
  const tokenizeStarted = performance.now();
  tokenizer.encode(prompt, { overflow: 'truncate' });
  const tokenizeMs = performance.now() - tokenizeStarted;

  const marks = new Map<string, number>();
  const writer = await Mp4Writer.open({
    directory: outDir,
    width,
    height,
    frameRate,
    expectedFrames: numFrames,
  });
  let firstFrame = 0;
  let lastFrame = 0;
  let stats: GenerationStats | undefined;
  const started = performance.now();
  await pipeline.generate(
    { prompt, negativePrompt: '', width, height, numFrames, frameRate, seed: 7 },
    {
      onProgress: (progress) => {
        marks.set(`${progress.stage}:${progress.step}`, performance.now());
      },
      frames: {
        write: async (frame) => {
          const now = performance.now();
          if (firstFrame === 0) firstFrame = now;
          lastFrame = now;
          await writer.write(frame);
        },
      },
      signal: new AbortController().signal,
      onStats: (measured) => {
        stats = measured;
      },
    },
  );
  await writer.finish();
  const finished = performance.now();
  const mark = (key: string): number => marks.get(key) ?? Number.NaN;
  const steps = pipeline.totalSteps;
  return {
    tokenizeMs,
    encodeMs: mark('DENOISING:0') - mark('ENCODING_PROMPT:0'),
    stepMs: Array.from(
      { length: steps },
      (_, i) => mark(`DENOISING:${i + 1}`) - mark(`DENOISING:${i}`),
    ),
    firstFrameMs: firstFrame - mark(`DECODING:${steps}`),
    decodeMs: lastFrame - mark(`DECODING:${steps}`),
    mp4Ms: finished - firstFrame,
    tailMs: finished - lastFrame,
    totalMs: finished - started,
    stats,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes >= 1e7 ? 0 : 2)} MB`;
}

/** Host traffic in and out, in MB. */
function trafficOf(stats: { toRuntimeBytes: number; fromRuntimeBytes: number }): string {
  return `${megabytes(stats.toRuntimeBytes)} in, ${megabytes(stats.fromRuntimeBytes)} out`;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const root = values.dir;
  await mkdir(root, { recursive: true });
  let files: ModelFiles;
  let label: string;
  if (values.model === 'tiny') {
    files = await ensureModelFiles(modelSpec('tiny-random'), join(root, 'tiny-random'));
    label = 'tiny-random';
  } else if (values.model === '2b') {
    const layers = Number(values.layers);
    const t5Layers = Number(values['t5-layers']);
    files = await randomRealModel(
      join(root, `random-2b-l${layers}-t${t5Layers}`),
      layers,
      t5Layers,
    );
    label = `2B architecture, random weights (${layers} transformer layers, ${t5Layers} T5 layers)`;
  } else {
    throw new Error('--model is tiny or 2b');
  }
  log(`model: ${label}`);
  log(`video: ${width}x${height}, ${numFrames} frames at ${frameRate} fps; device ${device}`);

  let info: LtxPipelineInfo | undefined;
  const pipeline = new ThreadedPipeline({
    pipeline: {
      name: label,
      files,
      device,
      textEncoder,
      decodeChunkFrames: Number(values['chunk-frames']),
      ...(values.precision === undefined ? {} : { precision: values.precision as Precision }),
      ...(values.threads === undefined ? {} : { intraOpThreads: Number(values.threads) }),
    },
    onLoaded: (loaded) => {
      info = loaded;
    },
  });
  const gpu = device === 'cpu' ? undefined : gpuMemoryWatcher();
  const loadStarted = performance.now();
  await pipeline.load();
  const loadMs = performance.now() - loadStarted;
  log(
    `loaded in ${seconds(loadMs)} (conversion included on the first run): provider ` +
      `${info?.provider ?? '?'}, ${info?.precision ?? '?'}, text encoder ${info?.textEncoder.placement ?? '?'}` +
      ` (${info?.textEncoder.reason ?? ''})`,
  );
  const tokenizer = await T5Tokenizer.load(files.tokenizerDir);
  const outDir = join(root, 'videos');
  const results: RunTimes[] = [];
  for (let run = 0; run <= runs; run++) {
    // A new prompt each time: a repeated one would reuse its embeddings.
    const times = await generateOnce(pipeline, tokenizer, `${PROMPT} (take ${run})`, outDir);
    const label = run === 0 ? 'warm-up' : `run ${run}`;
    log(
      `${label}: tokenize ${times.tokenizeMs.toFixed(2)} ms, T5 ${seconds(times.encodeMs)}, steps ` +
        `${times.stepMs.map(seconds).join(' ')}, decode ${seconds(times.decodeMs)} (first frame after ` +
        `${seconds(times.firstFrameMs)}), MP4 ${seconds(times.mp4Ms)}, playable ${seconds(times.tailMs)} ` +
        `after the last frame; prompt to MP4 ${seconds(times.totalMs)}`,
    );
    const stats = times.stats;
    if (stats !== undefined) {
      log(
        `  JS per step (model thread, between runs): ` +
          `${stats.steps.map((step) => `${step.jsMs.toFixed(1)} ms`).join(' ')}; host traffic ` +
          `per step ${stats.steps.map(trafficOf).join(' | ')}; per video ${trafficOf(stats)} ` +
          `(${stats.runs} runs)`,
      );
    }
    if (run > 0) results.push(times);
  }
  await pipeline.dispose();
  const gpuPeak = gpu?.stop();
  const rss = await peakRssBytes();
  const summary = {
    model: label,
    provider: info?.provider,
    precision: info?.precision,
    textEncoder: info?.textEncoder.placement,
    video: { width, height, frames: numFrames, frameRate },
    runs: results.length,
    loadMs: Math.round(loadMs),
    tokenizeMs: Number(mean(results.map((r) => r.tokenizeMs)).toFixed(3)),
    encodeMs: Math.round(mean(results.map((r) => r.encodeMs))),
    stepMs: Array.from({ length: pipeline.totalSteps }, (_, i) =>
      Math.round(mean(results.map((r) => r.stepMs[i] ?? Number.NaN))),
    ),
    decodeMs: Math.round(mean(results.map((r) => r.decodeMs))),
    firstFrameMs: Math.round(mean(results.map((r) => r.firstFrameMs))),
    mp4Ms: Math.round(mean(results.map((r) => r.mp4Ms))),
    playableAfterLastFrameMs: Math.round(mean(results.map((r) => r.tailMs))),
    promptToMp4Ms: Math.round(mean(results.map((r) => r.totalMs))),
    /** JavaScript on the model thread between two transformer runs, per step. */
    jsMsPerStep: Array.from({ length: pipeline.totalSteps }, (_, i) =>
      Number(mean(results.map((r) => r.stats?.steps[i]?.jsMs ?? Number.NaN)).toFixed(2)),
    ),
    /** Bytes into and out of ONNX Runtime (ModelSession.run), per step and per video. */
    hostTraffic: {
      perStep: Array.from({ length: pipeline.totalSteps }, (_, i) => ({
        toRuntimeBytes: Math.round(
          mean(results.map((r) => r.stats?.steps[i]?.toRuntimeBytes ?? Number.NaN)),
        ),
        fromRuntimeBytes: Math.round(
          mean(results.map((r) => r.stats?.steps[i]?.fromRuntimeBytes ?? Number.NaN)),
        ),
      })),
      perVideo: {
        toRuntimeBytes: Math.round(mean(results.map((r) => r.stats?.toRuntimeBytes ?? Number.NaN))),
        fromRuntimeBytes: Math.round(
          mean(results.map((r) => r.stats?.fromRuntimeBytes ?? Number.NaN)),
        ),
        runs: Math.round(mean(results.map((r) => r.stats?.runs ?? Number.NaN))),
      },
    },
    peakRssGiB: rss === undefined ? null : Number((rss / 2 ** 30).toFixed(2)),
    peakGpuGiB: gpuPeak === undefined ? null : Number((gpuPeak / 2 ** 30).toFixed(2)),
  };
  console.log(JSON.stringify(summary, null, 2));
}

await main();
