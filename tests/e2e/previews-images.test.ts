/**
 * Live previews and image-to-video through the whole stack (Caddy, three API servers, Redis, a
 * worker running tiny-random on ONNX Runtime), as users call them: `jobUpdated` carrying preview
 * URLs that Caddy serves, `preview: false`, `POST /uploads` and `imageId`, and bad uploads.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenerationSettings } from '@zeus/core';
import { ensureModelFiles, modelSpec } from '@zeus/models';
import type { Client } from 'graphql-ws';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, type LocalStack } from '../../deploy/local-stack.ts';
import { startTinyStack } from '../helpers/tiny-stack.ts';
import { prepareFirstFrame } from '../../inference/src/image/first-frame.ts';
import { LtxPipeline } from '../../inference/src/ltx/pipeline.ts';
import type { LtxGenerationHooks } from '../../inference/src/ltx/pipeline-types.ts';
import { decodeYuv, psnr, rgbToYuv } from '../helpers/frames.ts';
import { graphqlRequest, webSocketClient, type WebSocketClient } from '../helpers/graphql.ts';

const MAX_UPLOAD_BYTES = 200_000;
let stack: LocalStack;
let dir: string;
const sockets: WebSocketClient[] = [];

beforeAll(async () => {
  ({ stack, dir } = await startTinyStack('e2e-previews', {
    // The tiny model's steps take milliseconds: publish every one.
    ZEUS_PROGRESS_INTERVAL_MS: '0',
    ZEUS_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
  }));
});
afterEach(async () => {
  const open = sockets.splice(0);
  for (const socket of open) void socket.client.dispose();
  await Promise.all(open.map((socket) => socket.closed));
});
afterAll(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

const FIELDS = `id status stage step videoUrl previewUrl error { code message }
  settings { width height numFrames seed preview image { uploadId type width height bytes } }`;

interface Watched {
  readonly id: string;
  readonly status: string;
  readonly step: number;
  readonly videoUrl: string | null;
  readonly previewUrl: string | null;
  readonly error: { code: string; message: string } | null;
  readonly settings: {
    readonly seed: number;
    readonly preview: boolean;
    readonly image: {
      uploadId: string;
      type: string;
      width: number;
      height: number;
      bytes: number;
    } | null;
  };
}

function client(): Client {
  const socket = webSocketClient(stack.webSocketUrl);
  sockets.push(socket);
  return socket.client;
}

async function submit(input: Record<string, unknown>): Promise<Watched> {
  const response = await graphqlRequest<{ submitPrompt: Watched }>(
    stack.graphqlUrl,
    `mutation ($input: PromptInput!) { submitPrompt(input: $input) { ${FIELDS} } }`,
    { input },
  );
  expect(response.errors).toBeUndefined();
  const job = response.data?.submitPrompt;
  if (job == null) throw new Error('no job returned');
  return job;
}

/** Every state `jobUpdated` sends until the job is over. */
function follow(jobId: string): Promise<Watched[]> {
  const updates: Watched[] = [];
  return new Promise((resolve, reject) => {
    client().subscribe<{ jobUpdated: Watched }>(
      {
        query: `subscription ($id: ID!) { jobUpdated(id: $id) { ${FIELDS} } }`,
        variables: { id: jobId },
      },
      {
        next: (result) => {
          if (result.data == null) {
            reject(new Error(JSON.stringify(result.errors)));
            return;
          }
          updates.push(result.data.jobUpdated);
        },
        error: (error: unknown) => {
          reject(new Error(JSON.stringify(error)));
        },
        complete: () => {
          resolve(updates);
        },
      },
    );
  });
}

async function upload(
  body: Uint8Array,
  contentType: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${stack.url}/uploads`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new Uint8Array(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A 320×200 picture: a warm gradient with a dark disc left of centre. */
async function picture(format: 'png' | 'jpeg' | 'gif' = 'png'): Promise<Buffer> {
  const width = 320;
  const height = 200;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inDisc = (x - 120) ** 2 + (y - 100) ** 2 < 50 ** 2;
      const i = (y * width + x) * 3;
      pixels[i] = inDisc ? 20 : 200 + Math.round((55 * x) / width);
      pixels[i + 1] = inDisc ? 30 : Math.round((180 * y) / height);
      pixels[i + 2] = inDisc ? 90 : 40;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

async function totalJobs(): Promise<number> {
  const response = await graphqlRequest<{ jobs: { totalCount: number } }>(
    stack.graphqlUrl,
    '{ jobs(first: 1) { totalCount } }',
  );
  return response.data?.jobs.totalCount ?? -1;
}

/** LtxPipeline's frames, in this process with the worker's model files. */
async function pipelineFrames(
  settings: GenerationSettings,
  extra: Partial<LtxGenerationHooks> = {},
): Promise<Uint8Array[]> {
  const files = await ensureModelFiles(
    modelSpec('tiny-random'),
    join(dir, 'models', 'tiny-random'),
  );
  const pipeline = new LtxPipeline({ name: 'tiny-random', files, device: 'cpu' });
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
      ...extra,
    });
  } finally {
    await pipeline.dispose();
  }
  return frames;
}

describe('live previews', () => {
  it('reach a subscriber as URLs of small JPEGs that Caddy serves', async () => {
    const job = await submit({
      prompt: 'a red fox running through snow',
      width: 256,
      height: 256,
      numFrames: 17,
      frameRate: 12,
    });
    expect(job.settings.preview).toBe(true);
    const updates = await follow(job.id);
    expect(updates.at(-1)?.status).toBe('SUCCEEDED');
    const urls = [...new Set(updates.flatMap((update) => update.previewUrl ?? []))];
    expect(urls.length).toBeGreaterThanOrEqual(1);
    for (const url of urls)
      expect(url).toMatch(new RegExp(`^/generated/${job.id}/preview-\\d\\.jpg$`));
    // Each preview comes with (or after) the step it shows.
    for (const update of updates) {
      const step = Number(/preview-(\d)/.exec(update.previewUrl ?? '')?.[1] ?? 0);
      expect(step).toBeLessThanOrEqual(update.step);
    }
    const last = urls.at(-1) ?? '';
    const response = await fetch(`${stack.url}${last}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBeLessThan(50_000);
    expect(await sharp(bytes).metadata()).toMatchObject({
      format: 'jpeg',
      width: 256,
      height: 256,
    });
  });

  it('are not made when the job says preview: false', async () => {
    const job = await submit({
      prompt: 'a quiet harbour',
      width: 256,
      height: 256,
      numFrames: 17,
      preview: false,
    });
    expect(job.settings.preview).toBe(false);
    const updates = await follow(job.id);
    expect(updates.at(-1)?.status).toBe('SUCCEEDED');
    expect(updates.every((update) => update.previewUrl === null)).toBe(true);
    // The video and its poster (the first frame), no preview.
    expect((await readdir(join(dir, 'generated', job.id))).sort()).toEqual([
      'out.mp4',
      'poster.jpg',
    ]);
  });
});

describe('image-to-video', () => {
  it('conditions the video on an uploaded image, exactly as the pipeline does', async () => {
    const png = await picture();
    const uploaded = await upload(png, 'image/png');
    expect(uploaded.status).toBe(201);
    expect(uploaded.json).toMatchObject({
      type: 'png',
      width: 320,
      height: 200,
      bytes: png.length,
    });
    const imageId = String(uploaded.json['id']);
    const settings = {
      prompt: 'a lighthouse on a cliff',
      negativePrompt: '',
      width: 96,
      height: 64,
      numFrames: 17,
      frameRate: 8,
      seed: 11,
    };
    const job = await submit({ ...settings, imageId });
    expect(job.settings.image).toEqual({
      uploadId: imageId,
      type: 'png',
      width: 320,
      height: 200,
      bytes: png.length,
    });
    const updates = await follow(job.id);
    const last = updates.at(-1);
    expect(last?.status, JSON.stringify(last?.error)).toBe('SUCCEEDED');

    const video = join(dir, 'i2v.mp4');
    const mp4 = await fetch(`${stack.url}${last?.videoUrl ?? ''}`);
    await writeFile(video, new Uint8Array(await mp4.arrayBuffer()));
    const decoded = await decodeYuv(video, 17);

    // The same job in this process: the uploaded bytes prepared as the worker prepares them.
    const firstFrame = await prepareFirstFrame(png, 96, 64);
    const conditioned = await rgbToYuv(await pipelineFrames(settings, { firstFrame }), 96, 64);
    const unconditioned = await rgbToYuv(await pipelineFrames(settings), 96, 64);
    const frame = (96 * 64 * 3) / 2;
    const same = psnr(decoded, conditioned);
    const withoutImage = psnr(decoded, unconditioned);
    const firstSame = psnr(decoded.subarray(0, frame), conditioned.subarray(0, frame));
    const firstWithout = psnr(decoded.subarray(0, frame), unconditioned.subarray(0, frame));
    console.log(
      `image-to-video: MP4 vs pipeline with the image ${same.toFixed(1)} dB (first frame ` +
        `${firstSame.toFixed(1)} dB), vs the same seed without it ${withoutImage.toFixed(1)} dB ` +
        `(first frame ${firstWithout.toFixed(1)} dB)`,
    );
    expect(same).toBeGreaterThan(35);
    expect(firstSame).toBeGreaterThan(35);
    expect(firstWithout).toBeLessThan(firstSame - 10);

    // The upload seeds more jobs until it expires (Run again).
    const again = await submit({ ...settings, seed: 12, imageId });
    expect(again.settings.image?.uploadId).toBe(imageId);
  });

  it('refuses bad images with a stable code, and queues nothing', async () => {
    const before = await totalJobs();
    const refused = async (
      body: Uint8Array,
      contentType: string,
    ): Promise<{ status: number; code: unknown; rule: unknown }> => {
      const { status, json } = await upload(body, contentType);
      const error = (json['errors'] as { extensions: Record<string, unknown> }[] | undefined)?.[0];
      return { status, code: error?.extensions['code'], rule: error?.extensions['rule'] };
    };
    expect(await refused(await picture('gif'), 'image/png')).toEqual({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      rule: 'imageType',
    });
    expect(await refused(Buffer.from('not a picture at all'), 'image/png')).toEqual({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      rule: 'imageType',
    });
    expect(await refused(new Uint8Array(), 'image/png')).toEqual({
      status: 400,
      code: 'BAD_USER_INPUT',
      rule: 'empty',
    });
    const jpeg = await picture('jpeg');
    expect(await refused(jpeg.subarray(0, jpeg.length - 300), 'image/jpeg')).toEqual({
      status: 400,
      code: 'BAD_USER_INPUT',
      rule: 'decodable',
    });
    expect(await refused(new Uint8Array(MAX_UPLOAD_BYTES + 1), 'image/png')).toEqual({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      rule: 'maxBytes',
    });
    // A form post (what another site could make a browser send) is refused before reading.
    expect((await refused(await picture(), 'multipart/form-data; boundary=x')).status).toBe(415);
    expect((await refused(await picture(), 'text/plain')).status).toBe(415);

    // An id that names no upload: nothing queued, the field named.
    for (const imageId of ['6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f', 'not-an-id']) {
      const response = await graphqlRequest(
        stack.graphqlUrl,
        'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id } }',
        { input: { prompt: 'a fox', imageId } },
      );
      expect(response.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'imageId',
      });
    }
    expect(await totalJobs()).toBe(before);
  });
});

describe('the command line', () => {
  /** Runs `zeus` against the stack in the test's folder. */
  async function zeus(...args: string[]): Promise<{ code: number | null; stdout: string }> {
    const child = spawn(join(REPOSITORY_ROOT, 'node_modules', '.bin', 'zeus'), args, {
      cwd: dir,
      env: { ...process.env, ZEUS_URL: stack.url },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    const stdout: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout: Buffer.concat(stdout).toString() };
  }

  it('generates from a picture with --image, and refuses a missing or bad one (exit 2)', async () => {
    await writeFile(join(dir, 'cliff.png'), await picture());
    await writeFile(join(dir, 'notes.png'), 'not a picture');
    const size = ['--width', '96', '--height', '64', '--frames', '17', '--fps', '8'];
    const made = await zeus(
      'generate',
      'a cliff',
      ...size,
      '--image',
      'cliff.png',
      '--no-preview',
      '--json',
      '--out',
      'cliff.mp4',
    );
    expect(made.code, made.stdout).toBe(0);
    const events = made.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string });
    expect(events.map((event) => event.event)).toContain('downloaded');
    expect(existsSync(join(dir, 'cliff.mp4'))).toBe(true);
    const missing = await zeus('generate', 'a cliff', '--image', 'nowhere.png', '--json');
    expect(missing.code).toBe(2);
    const bad = await zeus('generate', 'a cliff', '--image', 'notes.png', '--json');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('UNSUPPORTED_MEDIA_TYPE');
  });
});
