import { createHash } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRemoteFiles, type RemoteFile } from '../src/hub/remote.ts';
import type { HubSettings } from '../src/hub/settings.ts';
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
let bigBytes: Buffer;
let smallBytes: Buffer;
let settings: HubSettings;

beforeAll(async () => {
  repo = await serveTestRepo('zeus-hub-remote-');
  ({ bigBytes, smallBytes, settings } = repo);
});

afterAll(async () => {
  await repo.close();
});

function remote(path: string): Promise<RemoteFile> {
  return remoteFile(path, settings);
}

describe('the Hub metadata', () => {
  it('reports the sha256 of LFS files and the git blob id of regular files', async () => {
    const big = await remote(BIG);
    expect(big.size).toBe(bigBytes.length);
    expect(big.digest).toEqual({ algorithm: 'sha256', hex: sha256(bigBytes) });
    const small = await remote(SMALL);
    const blobId = createHash('sha1')
      .update(`blob ${smallBytes.length}\0`)
      .update(smallBytes)
      .digest('hex');
    expect(small.digest).toEqual({ algorithm: 'git-sha1', hex: blobId });
  });

  it('names a file the repository does not have', async () => {
    const error = await expectHubError(
      fetchRemoteFiles(REPO, 'main', ['missing.bin'], settings, (p) => `/x/${p}`, FAST_RETRY),
    );
    expect(error.reason).toBe('not-found');
    expect(error.message).toContain(`${REPO}/missing.bin`);
    expect(error.message).toContain('/x/missing.bin');
  });

  it('gives up on a Hub that takes connections and never answers, as unreachable', async () => {
    // Accepts every connection and never answers: only the request timeout ends each try (with
    // the default of 30 s a try, this test would run into its own timeout instead).
    const connections: Socket[] = [];
    // The requests it was sent: a socket whose request was aborted while connecting (a busy
    // machine can take longer than the 300 ms timeout to accept it) connects with nothing to send.
    const requests: Socket[] = [];
    const silent = createNetServer((socket) => {
      connections.push(socket);
      socket.once('data', () => requests.push(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const retried: string[] = [];
    const error = await expectHubError(
      fetchRemoteFiles(
        REPO,
        'main',
        [BIG],
        { endpoint: `http://127.0.0.1:${port}`, token: undefined },
        (p) => p,
        { ...FAST_RETRY, attempts: 2, requestTimeoutMs: 300 },
        (attempt, failure) => retried.push(`${attempt}:${failure.reason}`),
      ),
    );
    for (const socket of connections) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    expect(error.reason).toBe('unreachable');
    // Two tries, each given up unanswered, then no more.
    expect(retried).toEqual(['1:unreachable']);
    expect(requests).toHaveLength(2);
  });
});
