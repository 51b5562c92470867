import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadHubFile, type DownloadEvent } from '../src/hub/download.ts';
import { fetchRemoteFiles, type RemoteFile } from '../src/hub/remote.ts';
import { hubSettingsFromEnv, type HubSettings } from '../src/hub/settings.ts';
import { startHubServer, type HubServer } from '../test-support/hub-server.ts';
import {
  BIG,
  expectHubError,
  FAST_RETRY,
  remoteFile,
  REPO,
  serveTestRepo,
  sha256,
  SMALL,
  type TestRepo,
} from './hub-test-repo.ts';

let repo: TestRepo;
let root: string;
let repoDir: string;
let bigBytes: Buffer;
let smallBytes: Buffer;
let hub: HubServer;
let settings: HubSettings;
let testIndex = 0;

beforeAll(async () => {
  repo = await serveTestRepo('zeus-hub-download-');
  ({ root, repoDir, bigBytes, smallBytes, hub, settings } = repo);
});

afterAll(async () => {
  await repo.close();
});

afterEach(() => {
  hub.faults.clear();
});

/** A fresh destination directory per test. */
async function destinationDir(): Promise<string> {
  const dir = join(root, `out-${testIndex++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function remote(path: string, hubSettings: HubSettings = settings): Promise<RemoteFile> {
  return remoteFile(path, hubSettings);
}

/** Requests that fetched file content (not the 1-byte probe that resolves the URL). */
function contentRequests(since: number, path: string) {
  return hub.requests
    .slice(since)
    .filter(
      (request) => request.path === path && (request.kind === 'lfs' || request.kind === 'resolve'),
    )
    .filter((request) => request.range !== 'bytes=0-0' && request.status !== 302);
}

describe('downloadHubFile', () => {
  it('downloads to a .part file, verifies it and renames it into place, reporting progress', async () => {
    const dir = await destinationDir();
    const destination = join(dir, BIG);
    const events: DownloadEvent[] = [];
    const seenDuringTransfer: { part: boolean; final: boolean }[] = [];
    await downloadHubFile(await remote(BIG), destination, {
      hub: settings,
      retry: FAST_RETRY,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'download-progress' && event.receivedBytes < event.totalBytes) {
          seenDuringTransfer.push({
            part: existsSync(`${destination}.part`),
            final: existsSync(destination),
          });
        }
      },
    });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    expect(await readdir(dir)).toEqual([BIG]);
    expect(events[0]).toEqual({
      type: 'download-start',
      file: BIG,
      totalBytes: bigBytes.length,
      resumeFrom: 0,
    });
    expect(events.at(-1)).toEqual({
      type: 'download-done',
      file: BIG,
      totalBytes: bigBytes.length,
    });
    const progress = events
      .filter((event) => event.type === 'download-progress')
      .map((event) => event.receivedBytes);
    expect(progress.at(-1)).toBe(bigBytes.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    // While bytes arrive, only the .part file exists.
    for (const seen of seenDuringTransfer) expect(seen).toEqual({ part: true, final: false });
  });

  it('verifies a regular (non-LFS) file by its git blob id', async () => {
    const destination = join(await destinationDir(), 'config.json');
    await downloadHubFile(await remote(SMALL), destination, { hub: settings, retry: FAST_RETRY });
    expect(await readFile(destination)).toEqual(smallBytes);
  });

  it('resumes with a Range request when the connection drops halfway', async () => {
    const destination = join(await destinationDir(), BIG);
    const since = hub.requests.length;
    hub.faults.dropConnection({ path: BIG, afterBytes: 1024 * 1024 });
    const retries: DownloadEvent[] = [];
    await downloadHubFile(await remote(BIG), destination, {
      hub: settings,
      retry: FAST_RETRY,
      onEvent: (event) => {
        if (event.type === 'download-retry') retries.push(event);
      },
    });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    expect(retries).toHaveLength(1);
    const content = contentRequests(since, BIG);
    expect(content).toHaveLength(2);
    expect(content[0]?.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(content[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1024 * 1024);
    expect(content[1]?.status).toBe(206);
  });

  it('continues a .part file left by an earlier run', async () => {
    const destination = join(await destinationDir(), BIG);
    const half = Math.floor(bigBytes.length / 2);
    await writeFile(`${destination}.part`, bigBytes.subarray(0, half));
    const since = hub.requests.length;
    const events: DownloadEvent[] = [];
    await downloadHubFile(await remote(BIG), destination, {
      hub: settings,
      retry: FAST_RETRY,
      onEvent: (event) => events.push(event),
    });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    expect(events[0]).toMatchObject({ type: 'download-start', resumeFrom: half });
    expect(contentRequests(since, BIG).map((request) => request.range)).toEqual([`bytes=${half}-`]);
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it('starts again from zero when a leftover .part holds other bytes', async () => {
    const destination = join(await destinationDir(), BIG);
    await writeFile(`${destination}.part`, randomBytes(1000));
    const since = hub.requests.length;
    await downloadHubFile(await remote(BIG), destination, { hub: settings, retry: FAST_RETRY });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    expect(contentRequests(since, BIG).map((request) => request.range)).toEqual([
      'bytes=1000-',
      undefined,
    ]);
  });

  it('reports bytes that do not match the hash and leaves nothing behind', async () => {
    const dir = await destinationDir();
    hub.faults.corruptContent({ path: BIG });
    const error = await expectHubError(
      downloadHubFile(await remote(BIG), join(dir, BIG), { hub: settings, retry: FAST_RETRY }),
    );
    expect(error.reason).toBe('verification-failed');
    expect(error.message).toContain(`${REPO}/${BIG}`);
    expect(error.message).toContain(sha256(bigBytes));
    expect(await readdir(dir)).toEqual([]);
  });

  it('retries server errors', async () => {
    const destination = join(await destinationDir(), BIG);
    hub.faults.failRequests({ path: BIG, status: 503, kind: 'lfs', times: 2 });
    await downloadHubFile(await remote(BIG), destination, { hub: settings, retry: FAST_RETRY });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
  });

  it('gives up after the retries, keeping the bytes it has for the next run', async () => {
    const destination = join(await destinationDir(), BIG);
    const file = await remote(BIG);
    hub.faults.dropConnection({ path: BIG, afterBytes: 4096, times: FAST_RETRY.attempts });
    const error = await expectHubError(
      downloadHubFile(file, destination, { hub: settings, retry: FAST_RETRY }),
    );
    expect(error.reason).toBe('unreachable');
    expect(error.retryable).toBe(true);
    expect(existsSync(destination)).toBe(false);
    const part = await readFile(`${destination}.part`);
    expect(part.length).toBe(4096 * FAST_RETRY.attempts);
    expect(part).toEqual(bigBytes.subarray(0, part.length));

    const since = hub.requests.length;
    await downloadHubFile(file, destination, { hub: settings, retry: FAST_RETRY });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    expect(contentRequests(since, BIG).map((request) => request.range)).toEqual([
      `bytes=${part.length}-`,
    ]);
  });

  it('gives up on a server that keeps answering errors', async () => {
    const destination = join(await destinationDir(), BIG);
    hub.faults.failRequests({ path: BIG, status: 500, kind: 'lfs', times: 10 });
    const error = await expectHubError(
      downloadHubFile(await remote(BIG), destination, { hub: settings, retry: FAST_RETRY }),
    );
    expect(error.reason).toBe('server-error');
    expect(error.message).toContain('HTTP 500');
    expect(existsSync(destination)).toBe(false);
  });

  it('falls back to the plain resolve URL when the library cannot read the Hub answer', async () => {
    const destination = join(await destinationDir(), BIG);
    const since = hub.requests.length;
    // A Xet file-info answer without the headers that go with it.
    hub.faults.respondWith({
      path: BIG,
      kind: 'resolve',
      status: 200,
      headers: { 'Content-Type': 'application/vnd.xet-fileinfo+json' },
      body: '{}',
    });
    await downloadHubFile(await remote(BIG), destination, { hub: settings, retry: FAST_RETRY });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    const fileRequests = hub.requests.slice(since).filter((request) => request.path === BIG);
    expect(fileRequests.map((request) => [request.kind, request.status])).toEqual([
      ['resolve', 200],
      ['resolve', 302],
      ['lfs', 200],
    ]);
  });

  it('shares one download between concurrent calls for the same file', async () => {
    const destination = join(await destinationDir(), BIG);
    const file = await remote(BIG);
    const since = hub.requests.length;
    const first = downloadHubFile(file, destination, { hub: settings, retry: FAST_RETRY });
    const second = downloadHubFile(file, destination, { hub: settings, retry: FAST_RETRY });
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(contentRequests(since, BIG)).toHaveLength(1);
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
  });

  it('fails with a clear error when the Hub cannot be reached', async () => {
    const file = await remote(BIG);
    const down = await startHubServer({ repos: { [REPO]: repoDir } });
    down.faults.setDown(true);
    const destination = join(await destinationDir(), BIG);
    const error = await expectHubError(
      downloadHubFile(file, destination, {
        hub: { endpoint: down.url, token: undefined },
        retry: FAST_RETRY,
      }),
    );
    await down.close();
    expect(error.reason).toBe('unreachable');
    expect(error.message).toContain(`${REPO}/${BIG}`);
    expect(error.message).toContain(down.url);
    for (const advice of [
      'network',
      'HF_ENDPOINT',
      'HF_TOKEN',
      `copy the file by hand to ${destination}`,
    ]) {
      expect(error.message).toContain(advice);
    }
  });
});

describe('gated repositories', () => {
  let gated: HubServer;
  beforeAll(async () => {
    gated = await startHubServer({ repos: { [REPO]: repoDir }, token: 'hf_secret' });
  });
  afterAll(async () => {
    await gated.close();
  });

  it('sends HF_TOKEN as a bearer token on every request', async () => {
    const gatedSettings = hubSettingsFromEnv({
      HF_ENDPOINT: `${gated.url}/`,
      HF_TOKEN: 'hf_secret',
    });
    const destination = join(await destinationDir(), BIG);
    const files = await fetchRemoteFiles(REPO, 'main', [BIG], gatedSettings, (p) => p, FAST_RETRY);
    const file = files.get(BIG);
    if (file === undefined) throw new Error('no metadata');
    await downloadHubFile(file, destination, { hub: gatedSettings, retry: FAST_RETRY });
    expect(sha256(await readFile(destination))).toBe(sha256(bigBytes));
    expect(gated.requests.length).toBeGreaterThanOrEqual(3);
    for (const request of gated.requests) expect(request.authorization).toBe('Bearer hf_secret');
  });

  it('says to set HF_TOKEN when access is refused', async () => {
    const error = await expectHubError(
      fetchRemoteFiles(
        REPO,
        'main',
        [BIG],
        { endpoint: gated.url, token: undefined },
        (p) => p,
        FAST_RETRY,
      ),
    );
    expect(error.reason).toBe('unauthorized');
    expect(error.message).toContain('HF_TOKEN');
  });
});
