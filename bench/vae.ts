/**
 * Benchmark (not a test): LTX-Video 0.9.6's VAE decoder at its real widths (1024/512/256/128
 * channels, 4 × 5 res blocks, three ×2 upsamplers) with deterministic random weights, timed for
 * a one-pass decode and a chunked (streamed) decode of the same latents, with peak memory.
 *
 *   npm run bench:vae -- [--device cpu|cuda|webgpu|auto] [--dtype fp32|fp16]
 *     [--width 128 --height 96 --frames 57] [--chunk-frames 8] [--runs 1] [--threads N]
 *     [--base-channels 128] [--cache-dir DIR]
 *
 * The defaults are a size a 2-core CPU decodes in seconds, long enough (8 latent frames) for
 * the stream to split; the production size is
 * `--width 768 --height 512 --frames 121` (~30 TMAC, for a GPU). The model (~2.1 GB in fp32,
 * ~1.1 GB in fp16) is written once into the conversion cache under --cache-dir (default: the
 * OS temp folder) and reused. Peak memory is the process's peak RSS (host memory; on a GPU
 * provider, read the device's own counters alongside).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseVaeTile,
  VaeDecoder,
  type Device,
  type LatentVideo,
  type VaeTiling,
} from '@zeus/inference';
import {
  convertCached,
  LTX_096_VAE_CONFIG,
  parseVaeConfig,
  randomVaeWeights,
  SeededRandom,
  writeVaeDecoderOnnx,
  type VaeDtype,
} from '@zeus/models';
import { scriptArgs } from './lib/script-args.ts';

const USAGE = `npm run bench:vae -- [options]
  --device cpu|cuda|webgpu|auto   execution provider (cpu)
  --dtype fp32|fp16               weights and activations (fp32)
  --width N --height N --frames N video size (128, 96, 57); the production size is 768 512 121
  --chunk-frames N                latent frames per streamed call (8)
  --runs N                        timed runs (1)
  --threads N                     CPU threads (ONNX Runtime's default)
  --base-channels N               the decoder's widest width / 8 (128, the real model)
  --cache-dir DIR                 where the model is written once (the OS temp folder)
  --tile PX                       only the streamed decode, in PX-pixel spatial tiles (as
                                  ZEUS_VAE_TILE; 4096 for whole frames), for its peak memory`;

const { values, fail } = scriptArgs(USAGE, {
  device: { type: 'string', default: 'cpu' },
  dtype: { type: 'string', default: 'fp32' },
  width: { type: 'string', default: '128' },
  height: { type: 'string', default: '96' },
  frames: { type: 'string', default: '57' },
  'chunk-frames': { type: 'string', default: '8' },
  runs: { type: 'string', default: '1' },
  threads: { type: 'string' },
  'base-channels': { type: 'string', default: '128' },
  'cache-dir': { type: 'string', default: join(tmpdir(), 'zeus-bench') },
  tile: { type: 'string' },
});

const device = values.device as Device;
if (!['cpu', 'cuda', 'webgpu', 'auto'].includes(device)) fail(`Unknown device ${device}`);
if (values.dtype !== 'fp32' && values.dtype !== 'fp16') fail('--dtype is fp32 or fp16');
const dtype: VaeDtype = values.dtype === 'fp16' ? 'float16' : 'float32';
let tiling: VaeTiling | undefined;
if (values.tile !== undefined) {
  try {
    tiling = parseVaeTile(values.tile) ?? fail('--tile takes a size in pixels');
  } catch (error) {
    fail(`--tile ${(error as Error).message}`);
  }
}
const width = Number(values.width);
const height = Number(values.height);
const frames = Number(values.frames);
const chunkFrames = Number(values['chunk-frames']);
const runs = Number(values.runs);
const baseChannels = Number(values['base-channels']);
if (width % 32 !== 0 || height % 32 !== 0 || (frames - 1) % 8 !== 0) {
  fail('--width and --height must be multiples of 32, --frames 8k + 1');
}

/** The 0.9.5 / 0.9.6 VAE config (docs/model/pipeline.md §1.4), at the width asked for. */
const config = parseVaeConfig({ ...LTX_096_VAE_CONFIG, decoder_base_channels: baseChannels });

function gaussianLatents(shape: readonly number[], seed: number): LatentVideo {
  const random = new SeededRandom(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = random.normal();
  return { data, shape };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const latentShape = [1, 128, (frames - 1) / 8 + 1, height / 32, width / 32];
  console.log(
    `LTX-Video VAE decoder: base ${baseChannels} channels, ${dtype}; ${width}x${height}x${frames} ` +
      `from latents [${latentShape.join(', ')}]; device ${device}`,
  );
  let lastReport = 0;
  const started = performance.now();
  const converted = await convertCached({
    cacheRoot: values['cache-dir'],
    component: 'bench-ltx-vae',
    dtype: values.dtype,
    converterVersion: 1,
    sources: [],
    options: { baseChannels, weights: 'seeded-random-v1' },
    build: async (dir, onProgress) => {
      await writeVaeDecoderOnnx(config, randomVaeWeights(1), dir, { dtype, onProgress });
    },
    onProgress: (event) => {
      if (event.kind !== 'writing' || event.bytesWritten - lastReport < event.bytesTotal / 10) {
        return;
      }
      lastReport = event.bytesWritten;
      console.log(`  writing weights: ${gib(event.bytesWritten)} of ${gib(event.bytesTotal)}`);
    },
  });
  console.log(
    `model ${converted.fromCache ? 'reused from' : 'written to'} ${converted.dir} in ` +
      seconds(performance.now() - started),
  );

  const loadStarted = performance.now();
  const decoder = await VaeDecoder.load(converted.dir, {
    device,
    ...(values.threads === undefined ? {} : { intraOpThreads: Number(values.threads) }),
  });
  console.log(
    `sessions on ${decoder.provider} loaded in ${seconds(performance.now() - loadStarted)}, ` +
      `RSS ${gib(process.memoryUsage.rss())}`,
  );

  const latents = gaussianLatents(latentShape, 1);
  const noise = gaussianLatents(latentShape, 2);
  const latentFrames = latentShape[2] ?? 1;
  if (tiling !== undefined) {
    for (let run = 1; run <= runs; run++) {
      const started = performance.now();
      let count = 0;
      for await (const batch of decoder.decodeFrames(latents, noise, { chunkFrames, tiling })) {
        count += batch.count;
      }
      console.log(
        `run ${run}: streamed in ${values.tile ?? ''}-pixel tiles (${tiling.cells} cells, ` +
          `sharing ${tiling.overlap}): ${seconds(performance.now() - started)}, ${count} frames`,
      );
    }
    await decoder.release();
    console.log(`peak RSS ${gib(peakRss())}`);
    return;
  }
  for (let run = 1; run <= runs; run++) {
    const onePassStarted = performance.now();
    const video = await decoder.decode(latents, noise);
    console.log(
      `run ${run}: one pass ${seconds(performance.now() - onePassStarted)} ` +
        `(${video.count} frames of ${video.width}x${video.height})`,
    );

    const plan = decoder.plan(latentFrames, { chunkFrames });
    const streamStarted = performance.now();
    const calls: string[] = [];
    let firstBatch = NaN;
    let callStarted = streamStarted;
    let differing = 0;
    for await (const batch of decoder.decodeFrames(latents, noise, { chunkFrames })) {
      const now = performance.now();
      if (Number.isNaN(firstBatch)) firstBatch = now - streamStarted;
      calls.push(`${batch.count}f/${seconds(now - callStarted)}`);
      const offset = batch.start * batch.height * batch.width * 3;
      for (let i = 0; i < batch.frames.length; i++) {
        if (batch.frames[i] !== video.frames[offset + i]) differing++;
      }
      callStarted = performance.now();
    }
    console.log(
      `run ${run}: streamed in ${plan.length} calls (--chunk-frames ${chunkFrames}) ` +
        `${seconds(performance.now() - streamStarted)}, first frames after ${seconds(firstBatch)}: ` +
        `${calls.join(', ')}; ${differing} of ${video.frames.length} bytes differ from one pass`,
    );
  }
  await decoder.release();
  console.log(`peak RSS ${gib(peakRss())}`);
}

await main();
