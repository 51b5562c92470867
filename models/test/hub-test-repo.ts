/**
 * A Hub repository for the tests of the Hub client (hub/remote.ts, hub/download.ts): a 3 MiB
 * LFS file and a small regular one, served by a local Hub server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { HubDownloadError } from '../src/hub/errors.ts';
import { fetchRemoteFiles, type RemoteFile, type RetryPolicy } from '../src/hub/remote.ts';
import type { HubSettings } from '../src/hub/settings.ts';
import { startHubServer, type HubServer } from '../test-support/hub-server.ts';

export const REPO = 'acme/weights';
export const BIG = 'model.safetensors';
export const SMALL = 'config/config.json';
export const FAST_RETRY: RetryPolicy = { attempts: 4, initialDelayMs: 5, maxDelayMs: 20 };

export interface TestRepo {
  /** A temporary folder, removed by `close`; the repository is in `repoDir` inside it. */
  readonly root: string;
  readonly repoDir: string;
  readonly bigBytes: Buffer;
  readonly smallBytes: Buffer;
  readonly hub: HubServer;
  readonly settings: HubSettings;
  close(): Promise<void>;
}

/** Writes the repository into a new temporary folder and serves it. */
export async function serveTestRepo(prefix: string): Promise<TestRepo> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const repoDir = join(root, 'repo');
  await mkdir(join(repoDir, 'config'), { recursive: true });
  const bigBytes = randomBytes(3 * 1024 * 1024 + 17);
  const smallBytes = Buffer.from(JSON.stringify({ hidden_size: 32, note: 'not in LFS' }));
  await writeFile(join(repoDir, BIG), bigBytes);
  await writeFile(join(repoDir, SMALL), smallBytes);
  const hub = await startHubServer({ repos: { [REPO]: repoDir } });
  return {
    root,
    repoDir,
    bigBytes,
    smallBytes,
    hub,
    settings: { endpoint: hub.url, token: undefined },
    close: async () => {
      await hub.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** What the Hub `settings` reports of `path` in the repository. */
export async function remoteFile(path: string, settings: HubSettings): Promise<RemoteFile> {
  const files = await fetchRemoteFiles(REPO, 'main', [path], settings, (p) => p, FAST_RETRY);
  const file = files.get(path);
  if (file === undefined) throw new Error(`no ${path}`);
  return file;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function expectHubError(promise: Promise<unknown>): Promise<HubDownloadError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HubDownloadError);
  return error as HubDownloadError;
}
