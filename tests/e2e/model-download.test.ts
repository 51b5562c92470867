/**
 * The default model end to end, as a first start on a GPU machine runs it, with the tiny model
 * served under the real repository and file names by a local Hub (HF_ENDPOINT): the worker
 * downloads and verifies the files into an empty models folder, converts them, reports the
 * model ready; the API counts prompt tokens with the downloaded tokenizer; a prompt submitted
 * over GraphQL gives an MP4 whose frames are the pipeline's own frames.
 *
 * The MP4 is H.264 (yuv420p, CRF 18): lossy. Its frames are compared with LtxPipeline's, run
 * here with the same files, settings and seed, in the codec's own terms: the MP4 decoded by
 * ffmpeg to yuv420p planes against the pipeline's RGB frames converted to yuv420p by ffmpeg the
 * way the worker's encoder converts them, so only the compression's loss is left (the 4:2:0
 * chroma alone costs these noisy tiny-model frames ~17 dB in RGB). Measured: 38.8 dB overall,
 * at least 37.7 dB per frame; another seed's video scores 26 dB. Thresholds: above 35 dB
 * overall and 32 dB for every frame, and the other seed below 30 dB.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { LtxPipeline } from '@zeus/inference';
import {
  CHECKPOINT_DIR,
  findModelFiles,
  LTX_CHECKPOINT_FILE,
  modelDir,
  modelSpec,
  type ModelFiles,
} from '@zeus/models';
import { startHubServer, writeTinyHubRepos, type HubServer } from '@zeus/models/test-support';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import {
  graphqlRequest,
  SUBMIT,
  watchJob,
  webSocketClient,
  type JobResult,
  type WebSocketClient,
} from '../helpers/graphql.ts';
import { decodeYuv, psnr, rgbToYuv } from '../helpers/frames.ts';
import { probeVideo } from '../helpers/video.ts';

const MODEL = 'ltxv-2b-0.9.6-distilled';

let dir: string;
let hub: HubServer;
let stack: LocalStack;
let socket: WebSocketClient | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-model-download-'));
  hub = await startHubServer({ repos: (await writeTinyHubRepos(join(dir, 'hub'))).repos });
  stack = await startLocalStack({
    dataDir: join(dir, 'data'),
    generatedDir: join(dir, 'generated'),
    port: 0,
    workers: 1,
    waitForModel: true,
    readyTimeoutMs: 120_000,
    env: {
      ZEUS_MODEL: MODEL,
      ZEUS_MODELS_DIR: join(dir, 'models'),
      HF_ENDPOINT: hub.url,
      HF_TOKEN: undefined,
      ZEUS_DEVICE: 'cpu',
      ZEUS_LOG_LEVEL: 'warn',
      // The tiny model's steps take milliseconds: publish every one.
      ZEUS_PROGRESS_INTERVAL_MS: '0',
    },
  });
}, 180_000);

afterAll(async () => {
  if (socket !== undefined) {
    void socket.client.dispose();
    await socket.closed;
  }
  await stack.stop();
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

function client(): Client {
  socket ??= webSocketClient(stack.webSocketUrl);
  return socket.client;
}

/** The model's files in the stack's models folder, as the worker verified them. */
async function modelFiles(): Promise<ModelFiles> {
  const files = await findModelFiles(modelSpec(MODEL), modelDir(join(dir, 'models'), MODEL), {
    endpoint: hub.url,
    token: undefined,
  });
  if (files === undefined) throw new Error('the model files are not recorded as verified');
  return files;
}

/** LtxPipeline's frames for `settings`, run in this process with the worker's files. */
async function pipelineFrames(settings: GenerationSettings): Promise<Uint8Array[]> {
  const pipeline = new LtxPipeline({
    name: MODEL,
    files: await modelFiles(),
    device: 'cpu',
  });
  await pipeline.load();
  const frames: Uint8Array[] = [];
  try {
    await pipeline.generate(settings, {
      onProgress: () => undefined,
      frames: {
        write: (frame) => {
          frames.push(frame);
          return Promise.resolve();
        },
      },
      signal: new AbortController().signal,
    });
  } finally {
    await pipeline.dispose();
  }
  return frames;
}

describe(`${MODEL} from a Hub (HF_ENDPOINT), end to end`, () => {
  it('downloads, verifies and converts the model files, and reports the model ready', async () => {
    const files = await modelFiles();
    expect(files.checkpoint).toBe(join(dir, 'models', MODEL, CHECKPOINT_DIR, LTX_CHECKPOINT_FILE));
    // Every file came from the Hub: the checkpoint, the T5 config, index and shards, the tokenizer.
    const downloaded = new Set(
      hub.requests
        .filter((request) => request.kind === 'lfs' || request.kind === 'resolve')
        .map((request) => request.path),
    );
    for (const path of [
      LTX_CHECKPOINT_FILE,
      'text_encoder/config.json',
      'text_encoder/model.safetensors.index.json',
      'text_encoder/model-00001-of-00004.safetensors',
      'text_encoder/model-00004-of-00004.safetensors',
      'tokenizer/spiece.model',
      'tokenizer/tokenizer_config.json',
    ]) {
      expect(downloaded.has(path), path).toBe(true);
    }
    // Converted once, next to the weights.
    const converted = (await readdir(files.onnxDir)).filter((name) => !name.endsWith('.json'));
    expect(converted.map((name) => name.replace(/-[0-9a-f]{16}$/, '')).sort()).toEqual([
      'ltx-preview-fp32',
      'ltx-transformer-fp32',
      't5-encoder-fp32',
      'vae-decoder-fp32',
      'vae-encoder-fp32',
    ]);

    const status = await graphqlRequest<{
      system: {
        model: string;
        modelReady: boolean;
        modelStatus: { state: string; message: string; progress: number | null };
      };
    }>(stack.graphqlUrl, '{ system { model modelReady modelStatus { state message progress } } }');
    expect(status.data?.system).toEqual({
      model: MODEL,
      modelReady: true,
      modelStatus: { state: 'READY', message: 'The model is loaded on 1 worker.', progress: null },
    });
  });

  it('refuses a prompt over 256 tokens at the API, counted with the downloaded tokenizer', async () => {
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const response = await graphqlRequest(stack.graphqlUrl, SUBMIT, { input: { prompt: words } });
    expect(response.data).toBeNull();
    const error = response.errors?.[0];
    expect(error?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'prompt',
      rule: 'maxTokens',
    });
    expect(error?.message).toMatch(
      /^prompt has \d{3,} tokens \(counting the end-of-text token\); the model reads at most 256\. Shorten it by \d+\.$/,
    );
  });

  it('turns a prompt submitted over GraphQL into an MP4 of the pipeline’s own frames', async () => {
    const settings = {
      prompt: 'a paper boat drifting down a rainy street',
      negativePrompt: '',
      width: 96,
      height: 64,
      numFrames: 17,
      frameRate: 8,
      seed: 2024,
    };
    const response = await graphqlRequest<{ submitPrompt: JobResult }>(stack.graphqlUrl, SUBMIT, {
      input: settings,
    });
    expect(response.errors).toBeUndefined();
    const job = response.data?.submitPrompt;
    if (job == null) throw new Error('no job returned');
    const updates = await watchJob(client(), job.id).completed;
    const last = updates.at(-1);
    expect(last).toMatchObject({ status: 'SUCCEEDED', step: 8, totalSteps: 8 });
    const stages = new Set(updates.map((update) => update.stage));
    for (const stage of ['DENOISING', 'DECODING', 'DONE']) {
      expect(stages.has(stage), stage).toBe(true);
    }

    const video = join(dir, 'boat.mp4');
    const bytes = await (await fetch(`${stack.url}${last?.videoUrl ?? ''}`)).arrayBuffer();
    await writeFile(video, new Uint8Array(bytes));
    expect(await probeVideo(video)).toMatchObject({
      codec: 'h264',
      width: 96,
      height: 64,
      frames: 17,
      frameRate: '8/1',
    });

    const decoded = await decodeYuv(video);
    const frames = await pipelineFrames(settings);
    expect(frames).toHaveLength(17);
    const expected = await rgbToYuv(frames, 96, 64);
    expect(decoded.length).toBe(expected.length);
    const frameBytes = (96 * 64 * 3) / 2;
    const perFrame = frames.map((_, index) =>
      psnr(
        decoded.subarray(index * frameBytes, (index + 1) * frameBytes),
        expected.subarray(index * frameBytes, (index + 1) * frameBytes),
      ),
    );
    expect(psnr(decoded, expected)).toBeGreaterThan(35);
    expect(Math.min(...perFrame)).toBeGreaterThan(32);

    // Another seed is another video: the comparison tells videos apart.
    const other = await rgbToYuv(await pipelineFrames({ ...settings, seed: 2025 }), 96, 64);
    expect(psnr(decoded, other)).toBeLessThan(30);
    expect(existsSync(join(dir, 'generated', job.id, 'out.mp4'))).toBe(true);
  });
});
