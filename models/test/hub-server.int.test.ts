import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  downloadFile,
  fileDownloadInfo,
  HubApiError,
  listFiles,
  modelInfo,
  pathsInfo,
} from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../test-support/hub-server.ts';

const REPO = 'acme/model';
const COMMIT = 'c0ffee0000000000000000000000000000000001';
const WEIGHTS = 'weights/model.safetensors';
const CONFIG = 'config.json';

let root: string;
let weights: Buffer;
let config: Buffer;
let hub: HubServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-hub-server-'));
  await mkdir(join(root, 'weights'));
  weights = randomBytes(200_000);
  config = Buffer.from('{"d_model": 32}\n');
  await writeFile(join(root, WEIGHTS), weights);
  await writeFile(join(root, CONFIG), config);
  hub = await startHubServer({ repos: { [REPO]: root }, revision: COMMIT });
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The statusCode of a HubApiError thrown by `promise`. */
async function apiStatus(promise: Promise<unknown>): Promise<number | undefined> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return error instanceof HubApiError ? error.statusCode : undefined;
}

describe('the local Hub server, through @huggingface/hub', () => {
  it('answers model info with the commit and the files', async () => {
    const info = await modelInfo({
      name: REPO,
      hubUrl: hub.url,
      additionalFields: ['sha', 'filePaths'],
    });
    expect(info.name).toBe(REPO);
    expect(info.sha).toBe(COMMIT);
    expect([...info.filePaths].sort()).toEqual([CONFIG, WEIGHTS]);
  });

  it('lists the tree and describes paths as the Hub does', async () => {
    const entries = [];
    for await (const entry of listFiles({ repo: REPO, hubUrl: hub.url, recursive: true }))
      entries.push(entry);
    expect(entries.map((entry) => `${entry.type}:${entry.path}`).sort()).toEqual([
      `directory:weights`,
      `file:${CONFIG}`,
      `file:${WEIGHTS}`,
    ]);
    const [lfs, regular] = await pathsInfo({
      repo: REPO,
      hubUrl: hub.url,
      paths: [WEIGHTS, CONFIG, 'missing'],
    });
    expect(lfs).toMatchObject({
      path: WEIGHTS,
      size: weights.length,
      lfs: { oid: sha256(weights), size: weights.length },
    });
    expect(regular).toMatchObject({ path: CONFIG, size: config.length });
    expect(regular?.lfs).toBeUndefined();
  });

  it('resolves and serves files, with byte ranges', async () => {
    const info = await fileDownloadInfo({
      repo: REPO,
      path: WEIGHTS,
      hubUrl: hub.url,
      revision: COMMIT,
    });
    expect(info?.size).toBe(weights.length);
    expect(info?.etag).toBe(`"${sha256(weights)}"`);
    const blob = await downloadFile({
      repo: REPO,
      path: WEIGHTS,
      hubUrl: hub.url,
      revision: COMMIT,
    });
    expect(Buffer.from(await (blob?.arrayBuffer() ?? new ArrayBuffer(0)))).toEqual(weights);
    const slice = blob?.slice(1000, 1010);
    expect(Buffer.from(await (slice?.arrayBuffer() ?? new ArrayBuffer(0)))).toEqual(
      weights.subarray(1000, 1010),
    );
  });

  it('sends LFS files through a redirect carrying the headers the Hub sends', async () => {
    const response = await fetch(`${hub.url}/${REPO}/resolve/main/${WEIGHTS}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('x-repo-commit')).toBe(COMMIT);
    expect(response.headers.get('x-linked-size')).toBe(String(weights.length));
    expect(response.headers.get('x-linked-etag')).toBe(`"${sha256(weights)}"`);
    const target = new URL(response.headers.get('location') ?? '', hub.url);
    const ranged = await fetch(target, { headers: { Range: 'bytes=-5' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(
      `bytes ${weights.length - 5}-${weights.length - 1}/${weights.length}`,
    );
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(weights.subarray(-5));
    const beyond = await fetch(target, { headers: { Range: `bytes=${weights.length}-` } });
    expect(beyond.status).toBe(416);
  });

  it('refuses other revisions, unknown repositories and missing files with the Hub codes', async () => {
    expect(
      await apiStatus(
        pathsInfo({ repo: REPO, hubUrl: hub.url, paths: [CONFIG], revision: 'f'.repeat(40) }),
      ),
    ).toBe(404);
    expect(await apiStatus(modelInfo({ name: 'acme/none', hubUrl: hub.url }))).toBe(401);
    const missing = await fetch(`${hub.url}/${REPO}/resolve/main/nothing.bin`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-error-code')).toBe('EntryNotFound');
    expect(await fileDownloadInfo({ repo: REPO, path: 'nothing.bin', hubUrl: hub.url })).toBeNull();
  });

  it('logs every request and injects failures', async () => {
    const since = hub.requests.length;
    hub.faults.failRequests({ status: 500, kind: 'paths-info' });
    expect(await apiStatus(pathsInfo({ repo: REPO, hubUrl: hub.url, paths: [CONFIG] }))).toBe(500);
    expect(await pathsInfo({ repo: REPO, hubUrl: hub.url, paths: [CONFIG] })).toHaveLength(1);
    expect(hub.requests.slice(since).map((request) => [request.kind, request.status])).toEqual([
      ['paths-info', 500],
      ['paths-info', 200],
    ]);
    hub.faults.setDown(true);
    await expect(fetch(`${hub.url}/api/models/${REPO}/revision/main`)).rejects.toThrow();
    hub.faults.setDown(false);
    expect((await fetch(`${hub.url}/api/models/${REPO}/revision/main`)).status).toBe(200);
  });
});
