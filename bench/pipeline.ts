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
import { mkdir, readFile } from 'node:fs/promises';
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
import { ensureModelFiles, modelSpec, T5Tokenizer, type ModelFiles } from '@zeus/models';
import { randomRealModel } from './lib/random-2b-model.ts';
import { seconds } from './lib/report.ts';
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
// Measuring

function log(line: string): void {
  process.stderr.write(`${line}\n`);
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
      log,
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
