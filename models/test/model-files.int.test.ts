import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubDownloadError } from '../src/hub/errors.ts';
import type { RetryPolicy } from '../src/hub/remote.ts';
import type { HubSettings } from '../src/hub/settings.ts';
import {
  LTX_CHECKPOINT_FILE,
  LTX_VIDEO_REPO,
  TEXT_ENCODER_REPO,
  modelSpec,
} from '../src/registry.ts';
import {
  ensureModelFiles,
  findModelFiles,
  type ModelFilesEvent,
} from '../src/store/model-files.ts';
import { startHubServer, type HubServer } from '../test-support/hub-server.ts';
import { writeTinyHubRepos } from '../test-support/tiny-hub.ts';

const FAST_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 5, maxDelayMs: 20 };
const REAL = modelSpec('ltxv-2b-0.9.6-distilled');

let root: string;
let repos: Readonly<Record<string, string>>;
let hub: HubServer;
let settings: HubSettings;
/** An endpoint where nothing listens. */
let closedEndpoint: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-model-store-'));
  ({ repos } = await writeTinyHubRepos(join(root, 'hub')));
  hub = await startHubServer({ repos });
  settings = { endpoint: hub.url, token: undefined };
  const closed = await startHubServer({ repos: {} });
  closedEndpoint = closed.url;
  await closed.close();
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The file a repository serves at `path`. */
function served(repo: string, path: string): string {
  return join(repos[repo] ?? '', ...path.split('/'));
}

describe('ensureModelFiles from the Hub', () => {
  const dir = () => join(root, 'models', 'ltxv-2b-0.9.6-distilled');

  it('downloads the checkpoint, the text encoder (shards from its index) and the tokenizer', async () => {
    const events: ModelFilesEvent[] = [];
    expect(await findModelFiles(REAL, dir(), settings)).toBeUndefined();
    const files = await ensureModelFiles(REAL, dir(), {
      hub: settings,
      retry: FAST_RETRY,
      onProgress: (event) => events.push(event),
    });

    expect(files.checkpoint).toBe(join(dir(), 'checkpoint', LTX_CHECKPOINT_FILE));
    expect(await sha256Of(files.checkpoint)).toBe(
      await sha256Of(served(LTX_VIDEO_REPO, LTX_CHECKPOINT_FILE)),
    );
    expect(files.textEncoderShards.map((shard) => relative(dir(), shard))).toEqual(
      [1, 2, 3, 4].map((n) => join('text_encoder', `model-0000${n}-of-00004.safetensors`)),
    );
    for (const path of [
      files.textEncoderConfig,
      files.textEncoderIndex,
      ...files.textEncoderShards,
      files.spieceModel,
    ]) {
      expect(await sha256Of(path)).toBe(
        await sha256Of(served(TEXT_ENCODER_REPO, relative(dir(), path))),
      );
    }
    expect((await readdir(files.tokenizerDir)).sort()).toEqual([
      'added_tokens.json',
      'special_tokens_map.json',
      'spiece.model',
      'tokenizer_config.json',
    ]);
    expect(files.onnxDir).toBe(join(dir(), 'onnx'));

    const downloaded = events
      .filter((event) => event.type === 'download-done')
      .map((event) => event.file);
    expect(downloaded.sort()).toEqual(
      [
        `checkpoint/${LTX_CHECKPOINT_FILE}`,
        'text_encoder/config.json',
        'text_encoder/model.safetensors.index.json',
        ...[1, 2, 3, 4].map((n) => `text_encoder/model-0000${n}-of-00004.safetensors`),
        'tokenizer/added_tokens.json',
        'tokenizer/special_tokens_map.json',
        'tokenizer/spiece.model',
        'tokenizer/tokenizer_config.json',
      ].sort(),
    );
    // The shards are planned only once the index is there to name them.
    const plans = events.filter((event) => event.type === 'plan');
    expect(plans).toHaveLength(2);
    expect(plans[1]?.files.map((file) => file.file)).toHaveLength(4);
    // Nothing beyond what the model needs (the repositories also hold a README).
    expect(hub.requests.some((request) => request.path === 'README.md')).toBe(false);
    expect(await findModelFiles(REAL, dir(), settings)).toEqual(files);
  });

  it('makes no request at all when every file is already there and verified', async () => {
    const since = hub.requests.length;
    const events: ModelFilesEvent[] = [];
    const files = await ensureModelFiles(REAL, dir(), {
      hub: settings,
      retry: FAST_RETRY,
      onProgress: (event) => events.push(event),
    });
    expect(hub.requests.length).toBe(since);
    expect(files.textEncoderShards).toHaveLength(4);
    const ready = events.filter((event) => event.type === 'file-ready');
    expect(ready).toHaveLength(11);
    for (const event of ready) expect(event.how).toBe('recorded');
  });

  it('notices a file changed on disk and downloads it again', async () => {
    const shard = join(dir(), 'text_encoder', 'model-00002-of-00004.safetensors');
    const original = await readFile(shard);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
    await writeFile(shard, damaged);

    const since = hub.requests.length;
    const events: ModelFilesEvent[] = [];
    await ensureModelFiles(REAL, dir(), {
      hub: settings,
      retry: FAST_RETRY,
      onProgress: (event) => events.push(event),
    });
    expect(await readFile(shard)).toEqual(original);
    expect(
      events.filter((event) => event.type === 'file-invalid').map((event) => event.file),
    ).toEqual(['text_encoder/model-00002-of-00004.safetensors']);
    const fetched = hub.requests
      .slice(since)
      .filter((request) => request.kind === 'resolve' || request.kind === 'lfs');
    expect(new Set(fetched.map((request) => request.path))).toEqual(
      new Set(['text_encoder/model-00002-of-00004.safetensors']),
    );
  });

  it('checks files found without a record against the Hub instead of downloading them', async () => {
    const copy = join(root, 'models-copied');
    await ensureModelFiles(REAL, copy, { hub: settings, retry: FAST_RETRY });
    await rm(join(copy, '.zeus-files.json'));
    const since = hub.requests.length;
    const events: ModelFilesEvent[] = [];
    await ensureModelFiles(REAL, copy, {
      hub: settings,
      retry: FAST_RETRY,
      onProgress: (event) => events.push(event),
    });
    expect(hub.requests.slice(since).every((request) => request.kind === 'paths-info')).toBe(true);
    const ready = events.filter((event) => event.type === 'file-ready');
    expect(ready.map((event) => event.how)).toEqual(Array.from({ length: 11 }, () => 'verified'));
  });

  it('checks files verified against another endpoint again, without downloading them', async () => {
    const mirror = await startHubServer({ repos });
    try {
      const mirrorSettings = { endpoint: mirror.url, token: undefined };
      expect(await findModelFiles(REAL, dir(), mirrorSettings)).toBeUndefined();
      const events: ModelFilesEvent[] = [];
      await ensureModelFiles(REAL, dir(), {
        hub: mirrorSettings,
        retry: FAST_RETRY,
        onProgress: (event) => events.push(event),
      });
      expect(mirror.requests.every((request) => request.kind === 'paths-info')).toBe(true);
      const ready = events.filter((event) => event.type === 'file-ready');
      expect(ready.map((event) => event.how)).toEqual(Array.from({ length: 11 }, () => 'verified'));
    } finally {
      await mirror.close();
    }
  });

  it('uses files copied by hand when the Hub cannot be reached', async () => {
    const copy = join(root, 'models-offline');
    await ensureModelFiles(REAL, copy, { hub: settings, retry: FAST_RETRY });
    await rm(join(copy, '.zeus-files.json'));
    const down = { endpoint: closedEndpoint, token: undefined };
    const events: ModelFilesEvent[] = [];
    const files = await ensureModelFiles(REAL, copy, {
      hub: down,
      retry: FAST_RETRY,
      onProgress: (event) => events.push(event),
    });
    expect(files.textEncoderShards).toHaveLength(4);
    const ready = events.filter((event) => event.type === 'file-ready');
    expect(ready).toHaveLength(11);
    for (const event of ready) expect(event.how).toBe('unverified');
  });

  it('names the missing file and what to do when the Hub cannot be reached', async () => {
    const empty = join(root, 'models-empty');
    const down = { endpoint: closedEndpoint, token: undefined };
    const error = await ensureModelFiles(REAL, empty, { hub: down, retry: FAST_RETRY }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubDownloadError);
    const message = (error as HubDownloadError).message;
    expect(message).toContain(`${LTX_VIDEO_REPO}/${LTX_CHECKPOINT_FILE}`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).toContain(join(empty, 'checkpoint', LTX_CHECKPOINT_FILE));
    expect(message).toMatch(/HF_ENDPOINT[\s\S]*HF_TOKEN/);
  });
});

describe('ensureModelFiles for tiny-random', () => {
  it('generates the set once and reuses it', async () => {
    const spec = modelSpec('tiny-random');
    const dir = join(root, 'models', 'tiny-random');
    const first: ModelFilesEvent[] = [];
    const files = await ensureModelFiles(spec, dir, { onProgress: (event) => first.push(event) });
    expect(first.some((event) => event.type === 'generate-done')).toBe(true);
    expect(files.textEncoderShards).toHaveLength(4);
    for (const path of [
      files.checkpoint,
      files.textEncoderConfig,
      files.textEncoderIndex,
      files.spieceModel,
    ]) {
      expect(existsSync(path)).toBe(true);
    }
    const before = (await stat(files.checkpoint)).mtimeMs;

    const second: ModelFilesEvent[] = [];
    expect(
      await ensureModelFiles(spec, dir, { onProgress: (event) => second.push(event) }),
    ).toEqual(files);
    expect(second.some((event) => event.type === 'generate-start')).toBe(false);
    expect((await stat(files.checkpoint)).mtimeMs).toBe(before);
    expect(await findModelFiles(spec, dir)).toEqual(files);
    // Only the model's files are left in its directory: no staging folder.
    expect((await readdir(dir)).sort()).toEqual([
      '.zeus-files.json',
      'checkpoint',
      'text_encoder',
      'tokenizer',
    ]);
  });
});

describe('processes sharing a models directory', () => {
  const tiny = modelSpec('tiny-random');

  it('wait for the one holding the directory lock', async () => {
    const dir = join(root, 'locked', 'tiny-random');
    await mkdir(dir, { recursive: true });
    const lockPath = join(dir, '.zeus-files.lock');
    await writeFile(lockPath, 'another process');
    const events: ModelFilesEvent[] = [];
    const files = await ensureModelFiles(tiny, dir, {
      onProgress: (event) => {
        events.push(event);
        // The other process finishes as soon as this one starts waiting.
        if (event.type === 'waiting') void rm(lockPath);
      },
    });
    expect(events[0]).toEqual({ type: 'waiting', lockPath });
    expect(events.some((event) => event.type === 'generate-done')).toBe(true);
    expect(existsSync(files.checkpoint)).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('take over a lock that its holder stopped refreshing', async () => {
    const dir = join(root, 'stale', 'tiny-random');
    await mkdir(dir, { recursive: true });
    const lockPath = join(dir, '.zeus-files.lock');
    await writeFile(lockPath, 'a process that died');
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(lockPath, longAgo, longAgo);
    const events: ModelFilesEvent[] = [];
    await ensureModelFiles(tiny, dir, { onProgress: (event) => events.push(event) });
    expect(events.some((event) => event.type === 'waiting')).toBe(false);
    expect(events.some((event) => event.type === 'generate-done')).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });
});
