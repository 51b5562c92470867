/**
 * Worker overhead: everything around the model for one 768x512x121 job. A stand-in worker
 * (synthetic-worker.ts, Zeus's own queue, store, throttle and MP4 writer) takes the job from
 * BullMQ, publishes its progress and encodes frames handed over at a decode rate, and reports
 * when the last frame arrived, when `out.mp4` was in place and when SUCCEEDED was stored.
 * Beside it, ffmpeg alone encodes the same raw frames from a file with the same arguments: the
 * cost of the encoding itself. Encoder settings are compared both ways.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeRedis, connectRedis, JobQueue, JobStore, newJob, RedisKeys } from '@zeus/core';
import { mp4Arguments, type Mp4Encoding } from '../../inference/src/video/ffmpeg-args.ts';
import { probeNvenc } from '../../inference/src/video/nvenc-probe.ts';
import { startTestRedis } from '../../tests/helpers/redis.ts';
import { probeVideo } from '../../tests/helpers/video.ts';
import { numberListSetting, numberSetting, type Benchmark } from '../lib/benchmark.ts';
import { BenchChild } from '../lib/child.ts';
import { machineLoad, round } from '../lib/machine.ts';
import { figure, type Figure } from '../lib/report.ts';
import type { JobTimings, WorkerBenchSettings } from './synthetic-worker.ts';

const run = promisify(execFile);

const WIDTH = 768;
const HEIGHT = 512;
const FRAMES = 121;
const FRAME_RATE = 25;

interface Candidate {
  readonly label: string;
  readonly encoding: Pick<Mp4Encoding, 'encoder' | 'crf' | 'preset' | 'tune'>;
}

/** Zeus's NVENC settings (ffmpeg-args.ts), measured where the probe says NVENC works. */
const NVENC_CANDIDATE: Candidate = { label: 'nvenc p4 hq cq 19', encoding: { encoder: 'nvenc' } };

/**
 * libx264: Zeus's default (without NVENC) first; the others are what the figures are compared
 * with.
 */
const X264_CANDIDATES: readonly Candidate[] = [
  { label: 'veryfast zerolatency crf 18', encoding: { preset: 'veryfast', crf: 18 } },
  { label: 'veryfast crf 18', encoding: { preset: 'veryfast', crf: 18, tune: null } },
  { label: 'superfast crf 18', encoding: { preset: 'superfast', crf: 18, tune: null } },
  { label: 'faster crf 18', encoding: { preset: 'faster', crf: 18, tune: null } },
];

interface ZeusRun {
  readonly pickupMs: number;
  readonly lastFrameToMp4Ms: number;
  readonly lastFrameToSucceededMs: number;
  readonly decodeSeconds: number;
  readonly backpressureMs: number;
  readonly load1: number;
}

export const workerBenchmark: Benchmark = {
  name: 'worker',
  description: 'one 768x512x121 job around the model: queue pickup, encoding tail, ffmpeg alone',
  settings: {
    'worker-decode-fps':
      'decode rates to hand frames over at, comma separated; 0 = at once (30,60,0)',
    'worker-chunk-frames': 'frames handed over together, as the VAE decodes them (8)',
  },
  run: async (options) => {
    const decodeRates = numberListSetting(options, 'worker-decode-fps', [30, 60, 0]);
    const chunkFrames = numberSetting(options, 'worker-chunk-frames', 8);
    const dir = await mkdtemp(join(tmpdir(), 'zeus-bench-worker-'));
    const redis = await startTestRedis();
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {
      size: `${WIDTH}x${HEIGHT}x${FRAMES}`,
      chunkFrames,
      frames: 'ffmpeg lavfi mandelbrot (a zoom: motion and detail), raw RGB24',
    };
    try {
      const framesPath = join(dir, 'frames.rgb');
      await run('ffmpeg', [
        ...[
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          `mandelbrot=size=${WIDTH}x${HEIGHT}:rate=${FRAME_RATE}`,
        ],
        ...['-frames:v', String(FRAMES), '-pix_fmt', 'rgb24', '-f', 'rawvideo', framesPath],
      ]);

      // What ZEUS_VIDEO_ENCODER=auto would pick here comes first, measured at every rate.
      const nvenc = await probeNvenc();
      details['nvenc'] = nvenc;
      options.log(
        `worker: NVENC ${nvenc.works ? 'encodes here' : `cannot encode here: ${nvenc.reason}`}`,
      );
      const candidates = nvenc.works ? [NVENC_CANDIDATE, ...X264_CANDIDATES] : X264_CANDIDATES;

      // ffmpeg alone: the encoding's own cost, for every candidate.
      const alone: Record<string, unknown> = {};
      for (const candidate of candidates) {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < options.runs; i += 1) {
          const output = join(dir, `alone-${i}.mp4`);
          times.push(await encodeAlone(framesPath, output, candidate.encoding));
          bytes = (await stat(output)).size;
        }
        options.log(
          `worker: ffmpeg alone, ${candidate.label}: ${times.map((t) => t.toFixed(2)).join(', ')} s, ${round(bytes / 1e6, 2)} MB`,
        );
        figures.push(
          figure('worker', `ffmpeg alone, ${candidate.label}: encode ${FRAMES} frames`, 's', times),
          figure('worker', `ffmpeg alone, ${candidate.label}: MP4 size`, 'MB', [bytes / 1e6]),
        );
        alone[candidate.label] = { seconds: times, bytes };
      }
      details['ffmpegAlone'] = alone;

      // Zeus's worker path: the default encoder at each decode rate, then every candidate at
      // the first rate.
      const plans = [
        ...decodeRates.map((fps) => ({ fps, candidate: candidates[0] as Candidate })),
        ...candidates.slice(1).map((candidate) => ({ fps: decodeRates[0] ?? 30, candidate })),
      ];
      const zeus: Record<string, unknown> = {};
      for (const { fps, candidate } of plans) {
        const runs = await zeusRuns(
          redis.url,
          dir,
          framesPath,
          fps,
          chunkFrames,
          candidate,
          options.runs,
        );
        const rate = fps === 0 ? 'frames at once' : `${fps} fps decode`;
        const name = `${candidate.label}, ${rate}`;
        options.log(
          `worker: ${name}: last frame → MP4 ${runs.map((r) => Math.round(r.lastFrameToMp4Ms)).join(', ')} ms, ` +
            `pickup ${runs.map((r) => round(r.pickupMs, 1)).join(', ')} ms`,
        );
        const isDefault = candidate === candidates[0];
        if (isDefault && fps === decodeRates[0]) {
          figures.push(
            figure(
              'worker',
              'queue pickup (add → RUNNING stored)',
              'ms',
              runs.map((r) => r.pickupMs),
            ),
          );
        }
        figures.push(
          figure(
            'worker',
            `${name}: last frame → MP4 playable`,
            'ms',
            runs.map((r) => r.lastFrameToMp4Ms),
            {
              load: runs.map((r) => r.load1),
              ...(fps > 0 ? { goal: { better: 'lower', target: 150, text: '≤ 150' } } : {}),
            },
          ),
        );
        if (isDefault) {
          figures.push(
            figure(
              'worker',
              `${name}: last frame → SUCCEEDED stored`,
              'ms',
              runs.map((r) => r.lastFrameToSucceededMs),
            ),
          );
        }
        zeus[name] = runs;
      }
      details['zeus'] = zeus;
      return { figures, details };
    } finally {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** Seconds ffmpeg takes to encode the raw file with Zeus's arguments for `encoding`. */
async function encodeAlone(
  framesPath: string,
  output: string,
  encoding: Candidate['encoding'],
): Promise<number> {
  const args = mp4Arguments({ width: WIDTH, height: HEIGHT, frameRate: FRAME_RATE, ...encoding });
  const started = performance.now();
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    ...args.inputOptions,
    '-i',
    framesPath,
    ...args.outputOptions,
    output,
  ]);
  return (performance.now() - started) / 1000;
}

async function zeusRuns(
  redisUrl: string,
  dir: string,
  framesPath: string,
  decodeFps: number,
  chunkFrames: number,
  candidate: Candidate,
  count: number,
): Promise<ZeusRun[]> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const settings: WorkerBenchSettings = {
    redisUrl,
    prefix,
    generatedDir: join(dir, 'generated'),
    framesPath,
    decodeFps,
    chunkFrames,
    denoisingSteps: 8,
    stepMs: 50,
    encoding: candidate.encoding,
  };
  const worker = new BenchChild<unknown>('worker/synthetic-worker.ts', [JSON.stringify(settings)], {
    timeoutMs: 120_000 + count * 30_000,
  });
  const redis = connectRedis(redisUrl, { name: 'bench', role: 'requests' });
  const keys = new RedisKeys(prefix);
  const store = new JobStore(redis, keys, { maxQueued: 1_000 });
  const queue = new JobQueue(redis, keys);
  try {
    await worker.next('ready');
    const runs: ZeusRun[] = [];
    for (let i = 0; i < count; i += 1) {
      const job = newJob({
        id: randomUUID(),
        settings: {
          prompt: 'worker overhead benchmark',
          negativePrompt: '',
          width: WIDTH,
          height: HEIGHT,
          numFrames: FRAMES,
          frameRate: FRAME_RATE,
          seed: i,
        },
        model: 'ltxv-2b-0.9.6-distilled',
        totalSteps: 8,
        now: new Date(),
      });
      await store.submit(job);
      const done = worker.next('job');
      const addedAt = performance.timeOrigin + performance.now();
      await queue.add(job.id);
      const { timings } = (await done) as unknown as { timings: JobTimings };
      if (i === 0) {
        const facts = await probeVideo(join(settings.generatedDir, job.id, 'out.mp4'));
        if (facts.frames !== FRAMES) throw new Error(`The MP4 has ${facts.frames} frames.`);
      }
      runs.push({
        pickupMs: round(timings.startedAt - addedAt, 2),
        lastFrameToMp4Ms: round(timings.mp4ReadyAt - timings.lastFrameAt, 1),
        lastFrameToSucceededMs: round(timings.succeededAt - timings.lastFrameAt, 1),
        decodeSeconds: round((timings.lastFrameAt - timings.firstFrameAt) / 1000, 2),
        backpressureMs: round(timings.backpressureMs, 0),
        load1: machineLoad().load1,
      });
    }
    worker.send({ type: 'stop' });
    await worker.result;
    return runs;
  } finally {
    worker.kill();
    await queue.close();
    await closeRedis(redis);
  }
}
