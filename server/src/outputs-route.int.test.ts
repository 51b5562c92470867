/**
 * `/generated/…` answered from a bucket (a real s3rver), both ways: a redirect to a presigned URL
 * that serves range requests, and the bytes through the server.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createLogger,
  loadConfig,
  openOutputStore,
  OUTPUTS_PATH,
  storageEnvironment,
  type OutputStore,
  type S3Delivery,
} from '@zeus/core';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../deploy/ports.ts';
import { startTestS3, type TestS3 } from '../../tests/helpers/s3-server.ts';
import { outputsHandler } from './outputs-route.ts';

let s3: TestS3;
let store: OutputStore;
const servers: Server[] = [];
const jobId = randomUUID();
const video = randomBytes(40_000);

beforeAll(async () => {
  s3 = await startTestS3('zeus-route-test');
  store = await openOutputStore(loadConfig(storageEnvironment, s3.env));
  const staging = store.stagingDirectory(jobId);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'video'), video);
  await store.publishFile(jobId, 'out.mp4', join(staging, 'video'), 'video/mp4');
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) => {
          server.close(resolve);
        }),
    ),
  );
  await store.close();
  await s3.stop();
});

async function serve(delivery: S3Delivery, outputs: OutputStore = store): Promise<string> {
  const app = express();
  app.get(
    `${OUTPUTS_PATH}/:jobId/:name`,
    outputsHandler({ store: outputs, delivery, logger: createLogger('test', 'silent') }),
  );
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('outputs from a bucket', () => {
  it('redirect: sends the browser to a presigned URL, where range requests work', async () => {
    const base = await serve('redirect');
    const answer = await fetch(`${base}/generated/${jobId}/out.mp4`, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const location = answer.headers.get('location') ?? '';
    expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/${jobId}/out.mp4?`)).toBe(true);
    expect(location).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    // fetch follows the redirect and keeps the Range header, as video elements do.
    const ranged = await fetch(`${base}/generated/${jobId}/out.mp4`, {
      headers: { Range: 'bytes=1000-1999' },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(video.subarray(1000, 2000))).toBe(true);
    expect((await fetch(`${base}/generated/${randomUUID()}/out.mp4`)).status).toBe(404);
    expect((await fetch(`${base}/generated/${jobId}/..%2Fsecret`)).status).toBe(404);
  });

  it('proxy: serves the bytes, whole and in ranges, with the headers players need', async () => {
    const base = await serve('proxy');
    const url = `${base}/generated/${jobId}/out.mp4`;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-length')).toBe(String(video.byteLength));
    expect(Buffer.from(await whole.arrayBuffer()).equals(video)).toBe(true);
    const etag = whole.headers.get('etag') ?? '';
    expect(etag).not.toBe('');

    const ranged = await fetch(url, { headers: { Range: 'bytes=39990-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 39990-39999/${video.byteLength}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(video.subarray(39990))).toBe(true);

    // The same validator: the range; another one: the whole output.
    const same = await fetch(url, { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    expect(same.status).toBe(206);
    await same.arrayBuffer();
    const changed = await fetch(url, { headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();

    const outside = await fetch(url, { headers: { Range: 'bytes=50000-' } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${video.byteLength}`);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(video.byteLength));
    expect((await fetch(`${base}/generated/${jobId}/preview-1.jpg`)).status).toBe(404);
  });

  it('says in words when the bucket cannot be reached (502)', async () => {
    // A port nothing listens on, held so that nothing starts to meanwhile.
    const closedPort = await reservePort();
    const away = await openOutputStore(
      loadConfig(storageEnvironment, {
        ...s3.env,
        ZEUS_S3_ENDPOINT: `http://127.0.0.1:${closedPort.port}`,
      }),
    );
    for (const delivery of ['redirect', 'proxy'] as const) {
      const answer = await fetch(`${await serve(delivery, away)}/generated/${jobId}/out.mp4`);
      expect(answer.status).toBe(502);
      expect(await answer.text()).toMatch(
        /^Could not read out\.mp4: the object store at .* cannot be reached/,
      );
    }
    await away.close();
    closedPort.release();
  });
});
