/**
 * The output stores: the pure rules (keys, paths, ranges, settings), then one contract suite
 * run against both implementations — the local folder, and a real S3-compatible server (s3rver)
 * through the AWS SDK.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../deploy/ports.ts';
import { startTestS3, type TestS3 } from '../../tests/helpers/s3-server.ts';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { LocalOutputStore } from './local-output-store.ts';
import {
  outputKey,
  outputPath,
  parseOutputPath,
  parseRangeHeader,
  RangeNotSatisfiableError,
  resolveRange,
  StorageError,
  type OutputStore,
} from './output-store.ts';
import { describeS3Failure, rangeHeader, S3OutputStore } from './s3-output-store.ts';
import { openOutputStore, storageEnvironment } from './storage-settings.ts';

describe('output names and URLs', () => {
  const id = '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f';

  it('names an output by its job and file, and nothing else', () => {
    expect(outputKey(id, 'out.mp4')).toBe(`${id}/out.mp4`);
    expect(outputPath(id, 'preview-3.jpg')).toBe(`/generated/${id}/preview-3.jpg`);
    for (const name of ['../x', '.out.mp4.partial', 'a/b', '', 'x'.repeat(101)]) {
      expect(() => outputKey(id, name), name).toThrow(RangeError);
    }
    expect(() => outputKey('../../etc', 'out.mp4')).toThrow(RangeError);
  });

  it('reads the job and file from a /generated path', () => {
    expect(parseOutputPath(`/generated/${id}/out.mp4`)).toEqual({ jobId: id, name: 'out.mp4' });
    expect(parseOutputPath(`/generated/${id}/.hidden`)).toBeNull();
    expect(parseOutputPath(`/generated/${id}/a/out.mp4`)).toBeNull();
    expect(parseOutputPath('/generated/not-a-job/out.mp4')).toBeNull();
  });

  it('reads Range headers as browsers send them', () => {
    expect(parseRangeHeader('bytes=0-')).toEqual({ start: 0 });
    expect(parseRangeHeader('bytes=100-199')).toEqual({ start: 100, end: 199 });
    expect(parseRangeHeader('bytes=-500')).toEqual({ suffix: 500 });
    // Not understood, or several ranges: the whole output.
    for (const header of [undefined, 'bytes=5-1', 'items=0-1', 'bytes=0-1,5-6', 'bytes=-']) {
      expect(parseRangeHeader(header), String(header)).toBeUndefined();
    }
    expect(resolveRange({ start: 100 }, 1000)).toEqual({ start: 100, end: 999 });
    expect(resolveRange({ start: 0, end: 5000 }, 1000)).toEqual({ start: 0, end: 999 });
    expect(resolveRange({ suffix: 5000 }, 1000)).toEqual({ start: 0, end: 999 });
    expect(() => resolveRange({ start: 1000 }, 1000)).toThrow(RangeNotSatisfiableError);
    expect(rangeHeader({ suffix: 10 })).toBe('bytes=-10');
    expect(rangeHeader({ start: 5 })).toBe('bytes=5-');
  });

  it('describes object-store failures in words, naming the bucket and server, never a secret', () => {
    const where = { bucket: 'videos', endpoint: 'http://minio:9000' };
    expect(
      describeS3Failure({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, where),
    ).toBe('the bucket "videos" does not exist at http://minio:9000');
    expect(describeS3Failure({ name: 'InvalidAccessKeyId' }, where)).toMatch(
      /refused Zeus's credentials .*ZEUS_S3_ACCESS_KEY_ID/,
    );
    expect(describeS3Failure({ name: 'AccessDenied' }, where)).toMatch(/denied access/);
    expect(describeS3Failure({ code: 'ECONNREFUSED' }, where)).toBe(
      'the object store at http://minio:9000 cannot be reached (ECONNREFUSED)',
    );
    expect(
      describeS3Failure({ name: 'InternalError', $metadata: { httpStatusCode: 503 } }, where),
    ).toMatch(/failed \(HTTP 503\)/);
  });
});

describe('storage settings', () => {
  it('defaults to the local folder', () => {
    expect(loadConfig(storageEnvironment, {})).toMatchObject({
      ZEUS_STORAGE: 'local',
      ZEUS_S3_REGION: 'us-east-1',
      ZEUS_S3_PREFIX: '',
      ZEUS_S3_URL_EXPIRY: 3600,
      ZEUS_S3_DELIVERY: 'redirect',
    });
  });

  it('reports every problem at once, without the secret', () => {
    const read = (): unknown =>
      loadConfig(storageEnvironment, {
        ZEUS_STORAGE: 's3',
        ZEUS_S3_ENDPOINT: 'minio:9000',
        ZEUS_S3_PREFIX: 'zeus',
        ZEUS_S3_SECRET_ACCESS_KEY: 'very-secret-value',
        ZEUS_S3_URL_EXPIRY: '10',
        ZEUS_S3_FORCE_PATH_STYLE: 'maybe',
      });
    expect(read).toThrow(ConfigError);
    let problems: readonly string[] = [];
    try {
      read();
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.join('\n')).not.toContain('very-secret-value');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ZEUS_S3_ENDPOINT: must be an http:\/\/ or https:\/\/ URL/),
        expect.stringMatching(/^ZEUS_S3_PREFIX: must be folder names/),
        expect.stringMatching(/^ZEUS_S3_URL_EXPIRY: must be at least 60/),
        expect.stringMatching(/^ZEUS_S3_FORCE_PATH_STYLE: must be true or false/),
      ]),
    );
  });

  it('needs a bucket for s3, and both halves of the credentials', () => {
    const problems = (env: Record<string, string>): readonly string[] => {
      try {
        loadConfig(storageEnvironment, env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ ZEUS_STORAGE: 's3', ZEUS_S3_ACCESS_KEY_ID: 'AKIA1' })).toEqual([
      'ZEUS_S3_BUCKET: is needed with ZEUS_STORAGE=s3 (not set)',
      'ZEUS_S3_SECRET_ACCESS_KEY: must be set together with ZEUS_S3_ACCESS_KEY_ID (not set)',
    ]);
    expect(problems({ ZEUS_STORAGE: 's3', ZEUS_S3_BUCKET: 'videos' })).toEqual([]);
  });
});

let s3: TestS3;
let dir: string;

beforeAll(async () => {
  [s3, dir] = await Promise.all([startTestS3(), mkdtemp(join(tmpdir(), 'zeus-outputs-test-'))]);
});

afterAll(async () => {
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
});

interface StoreUnderTest {
  readonly store: OutputStore;
  /** A URL to fetch the output at `deliveryUrl` from (the local store's is a site path). */
  readonly fetchable: (url: string) => string | null;
}

const implementations: readonly [string, (name: string) => Promise<StoreUnderTest>][] = [
  [
    'local folder',
    async (name) => {
      const root = join(dir, `local-${name}`);
      await mkdir(root);
      return { store: new LocalOutputStore(root), fetchable: () => null };
    },
  ],
  [
    'S3 (s3rver)',
    (name) =>
      Promise.resolve({
        store: new S3OutputStore({
          bucket: s3.bucket,
          endpoint: s3.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          // Each test on its own prefix of the one bucket.
          prefix: `${name}/`,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
          urlExpirySeconds: 300,
          stagingRoot: join(dir, `staging-${name}`),
          // Multipart above 6 MiB here (64 MiB by default), in 5 MiB parts, S3's least.
          multipartThresholdBytes: 6 * 1024 * 1024,
          partSizeBytes: 5 * 1024 * 1024,
        }),
        fetchable: (url) => url,
      }),
  ],
];

let storeCounter = 0;

describe.each(implementations)('output store contract: %s', (_label, open) => {
  const fresh = async (): Promise<StoreUnderTest> => {
    storeCounter += 1;
    return open(`store-${storeCounter}`);
  };

  /** A finished file in the job's staging folder, as the MP4 writer leaves it. */
  const staged = async (store: OutputStore, jobId: string, bytes: Uint8Array): Promise<string> => {
    const folder = store.stagingDirectory(jobId);
    await mkdir(folder, { recursive: true });
    const path = join(folder, `.out.${randomUUID()}.mp4.partial`);
    await writeFile(path, bytes);
    return path;
  };

  const bytesOf = async (body: Readable): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  it('publishes a staged file whole, and reads it back whole and in ranges', async () => {
    const { store } = await fresh();
    const jobId = randomUUID();
    const video = randomBytes(200_000);
    expect(await store.stat(jobId, 'out.mp4')).toBeNull();
    const path = await staged(store, jobId, video);
    await store.publishFile(jobId, 'out.mp4', path, 'video/mp4');
    // The staged file is gone: moved into place, or uploaded and removed.
    expect(existsSync(path)).toBe(false);
    await store.releaseStaging(jobId);
    expect(existsSync(store.stagingDirectory(jobId))).toBe(store.kind === 'local');

    expect(await store.stat(jobId, 'out.mp4')).toMatchObject({
      size: video.byteLength,
      contentType: 'video/mp4',
    });
    const whole = await store.read(jobId, 'out.mp4');
    expect(whole?.range).toBeNull();
    expect(whole?.size).toBe(video.byteLength);
    expect((await bytesOf(whole?.body as Readable)).equals(video)).toBe(true);

    const part = await store.read(jobId, 'out.mp4', { start: 100, end: 199 });
    expect(part).toMatchObject({ range: { start: 100, end: 199 }, size: video.byteLength });
    expect((await bytesOf(part?.body as Readable)).equals(video.subarray(100, 200))).toBe(true);
    const tail = await store.read(jobId, 'out.mp4', { suffix: 10 });
    expect(tail?.range).toEqual({ start: video.byteLength - 10, end: video.byteLength - 1 });
    expect((await bytesOf(tail?.body as Readable)).equals(video.subarray(-10))).toBe(true);
    await expect(store.read(jobId, 'out.mp4', { start: video.byteLength })).rejects.toThrow(
      RangeNotSatisfiableError,
    );
    expect(await store.read(jobId, 'preview-1.jpg')).toBeNull();
  });

  it('publishes a file larger than one part (multipart upload on S3) intact', async () => {
    const { store } = await fresh();
    const jobId = randomUUID();
    const video = randomBytes(11 * 1024 * 1024 + 17);
    await store.publishFile(jobId, 'out.mp4', await staged(store, jobId, video), 'video/mp4');
    const read = await store.read(jobId, 'out.mp4');
    expect(read?.size).toBe(video.byteLength);
    expect((await bytesOf(read?.body as Readable)).equals(video)).toBe(true);
  });

  it('replaces an output atomically when it is published again', async () => {
    const { store } = await fresh();
    const jobId = randomUUID();
    await store.putBytes(jobId, 'preview-1.jpg', Buffer.from('first'), 'image/jpeg');
    await store.putBytes(jobId, 'preview-1.jpg', Buffer.from('second'), 'image/jpeg');
    const read = await store.read(jobId, 'preview-1.jpg');
    expect(read?.contentType).toBe('image/jpeg');
    expect(await text(read?.body as Readable)).toBe('second');
  });

  it('deletes every output of one job and nothing of another, and deleting twice is fine', async () => {
    const { store } = await fresh();
    const [doomed, kept] = [randomUUID(), randomUUID()];
    for (const jobId of [doomed, kept]) {
      await store.publishFile(
        jobId,
        'out.mp4',
        await staged(store, jobId, randomBytes(1000)),
        'video/mp4',
      );
      await store.putBytes(jobId, 'preview-2.jpg', randomBytes(100), 'image/jpeg');
    }
    await store.deleteJob(doomed);
    await store.deleteJob(doomed);
    await store.deleteJob(randomUUID());
    expect(await store.stat(doomed, 'out.mp4')).toBeNull();
    expect(await store.stat(doomed, 'preview-2.jpg')).toBeNull();
    expect(existsSync(store.stagingDirectory(doomed))).toBe(false);
    expect(await store.stat(kept, 'out.mp4')).not.toBeNull();
    expect(await store.stat(kept, 'preview-2.jpg')).not.toBeNull();
  });

  it('hands out a URL that serves the output with range requests', async () => {
    const { store, fetchable } = await fresh();
    const jobId = randomUUID();
    const video = randomBytes(5000);
    await store.publishFile(jobId, 'out.mp4', await staged(store, jobId, video), 'video/mp4');
    const url = await store.deliveryUrl(jobId, 'out.mp4');
    const direct = fetchable(url);
    if (direct === null) {
      // Caddy serves the folder at this path (tests/e2e/stack.test.ts fetches it through Caddy).
      expect(url).toBe(`/generated/${jobId}/out.mp4`);
      return;
    }
    expect(url).toMatch(/X-Amz-Expires=300/);
    const ranged = await fetch(direct, { headers: { Range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${video.byteLength}`);
    expect(ranged.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await ranged.arrayBuffer()).equals(video.subarray(100, 200))).toBe(true);
  });

  it('checks that it can be used', async () => {
    const { store } = await fresh();
    await expect(store.check()).resolves.toBeUndefined();
  });
});

describe('output store failures', () => {
  it('local: a video folder that is a file is STORAGE_FAILED, saying so', async () => {
    const root = join(dir, 'a-file');
    await writeFile(root, 'not a folder');
    const store = new LocalOutputStore(root);
    await expect(store.check()).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      message: 'Could not use the video folder: the video folder is not a folder.',
    });
    await expect(
      store.putBytes(randomUUID(), 'preview-1.jpg', Buffer.from('x'), 'image/jpeg'),
    ).rejects.toBeInstanceOf(StorageError);
  });

  it('S3: a missing bucket and an unreachable server are STORAGE_FAILED, saying which', async () => {
    const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    const base = {
      region: 'us-east-1',
      forcePathStyle: true,
      prefix: '',
      credentials,
      urlExpirySeconds: 60,
      stagingRoot: join(dir, 'staging-failures'),
    };
    const noBucket = new S3OutputStore({
      ...base,
      bucket: 'no-such-bucket',
      endpoint: s3.endpoint,
    });
    await expect(noBucket.check()).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      message: `Could not use the bucket: the bucket "no-such-bucket" does not exist at ${s3.endpoint}.`,
    });
    const jobId = randomUUID();
    await mkdir(noBucket.stagingDirectory(jobId), { recursive: true });
    const file = join(noBucket.stagingDirectory(jobId), 'video');
    await writeFile(file, 'x');
    const failure: unknown = await noBucket
      .publishFile(jobId, 'out.mp4', file, 'video/mp4')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageError);
    expect((failure as StorageError).message).toMatch(
      /^Could not save out\.mp4: the bucket "no-such-bucket" does not exist/,
    );
    // The staged file stays for the job's failure handling to remove.
    expect(await readdir(noBucket.stagingDirectory(jobId))).toEqual(['video']);

    // A port nothing listens on, held so that nothing starts to meanwhile.
    const closedPort = await reservePort();
    const away = `http://127.0.0.1:${closedPort.port}`;
    const unreachable = new S3OutputStore({ ...base, bucket: s3.bucket, endpoint: away });
    await expect(unreachable.check()).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      message: `Could not use the bucket: the object store at ${away} cannot be reached (ECONNREFUSED).`,
    });
    closedPort.release();
    await Promise.all([noBucket.close(), unreachable.close()]);
  });

  it('opens the store the settings name', async () => {
    const local = await openOutputStore(loadConfig(storageEnvironment, {}), join(dir, 'x'));
    expect(local.kind).toBe('local');
    const bucket = await openOutputStore(loadConfig(storageEnvironment, s3.env), join(dir, 'x'));
    expect(bucket.kind).toBe('s3');
    await expect(bucket.check()).resolves.toBeUndefined();
    await bucket.close();
  });
});
