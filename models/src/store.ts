/**
 * The on-disk model store: where each model's files live, and `ensureModelFiles`, which
 * downloads (from the Hub) or generates (tiny-random) whatever is missing and returns the paths.
 *
 * Layout of a model directory (default `<repo>/models/<model-name>/`, beside this workspace's
 * `src/` and `test/`: the model names never clash with those, and the repository's ignore files
 * list each model's folder):
 *
 *   checkpoint/<file>.safetensors   transformer + VAE, `__metadata__.config`
 *   text_encoder/                   config.json, model.safetensors.index.json, shards
 *   tokenizer/                      spiece.model, tokenizer_config.json, special_tokens_map.json,
 *                                   added_tokens.json
 *   onnx/                           converted graphs (written by the converter, next to the weights)
 *   .zeus-files.json                what was verified: source, size, mtime and hash of each file
 *
 * A file is trusted without re-reading it when `.zeus-files.json` records it from the same
 * source with the same size and modification time; otherwise it is hashed against what the
 * Hub reports, and downloaded again if it differs. So a second run makes no requests at all,
 * and a file changed on disk is noticed.
 */
import { randomUUID } from 'node:crypto';
import {
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { withFileLock } from './file-lock.ts';
import { digestFile, type FileDigest } from './hub/digest.ts';
import { downloadHubFile, type DownloadEvent } from './hub/download.ts';
import { HubDownloadError } from './hub/errors.ts';
import {
  DEFAULT_RETRY,
  fetchRemoteFiles,
  type RemoteFile,
  type RetryPolicy,
} from './hub/remote.ts';
import { hubSettingsFromEnv, type HubSettings } from './hub/settings.ts';
import {
  CHECKPOINT_DIR,
  ONNX_DIR,
  TEXT_ENCODER_DIR,
  TEXT_ENCODER_INDEX,
  TOKENIZER_DIR,
  type GeneratedModelSpec,
  type HubFileSpec,
  type HubModelSpec,
  type ModelName,
  type ModelSpec,
} from './registry.ts';
import { generateTinyModel, TINY_GENERATOR_VERSION, tinyModelTargets } from './tiny/generate.ts';

/** Where a model's files are, once `ensureModelFiles` has made sure they are all there. */
export interface ModelFiles {
  readonly name: ModelName;
  /** The model's directory. */
  readonly dir: string;
  /** The single-file checkpoint (transformer + VAE). */
  readonly checkpoint: string;
  readonly textEncoderDir: string;
  readonly textEncoderConfig: string;
  readonly textEncoderIndex: string;
  /** The T5 weight shards, in order. */
  readonly textEncoderShards: readonly string[];
  readonly tokenizerDir: string;
  readonly spieceModel: string;
  /** Where converted ONNX graphs go (created by the converter when needed). */
  readonly onnxDir: string;
}

/** What `ensureModelFiles` is doing, for progress bars and logs. */
export type ModelFilesEvent =
  | DownloadEvent
  | {
      /** Files about to be downloaded (one event per batch; shards come in a second one). */
      readonly type: 'plan';
      readonly files: readonly { readonly file: string; readonly bytes: number }[];
    }
  | {
      readonly type: 'verify-progress';
      readonly file: string;
      readonly checkedBytes: number;
      readonly totalBytes: number;
    }
  | {
      /**
       * A file is in place. `recorded`: verified earlier and unchanged; `verified`: hashed now
       * and matching the Hub; `downloaded`; `generated`; `unverified`: present on disk, but the
       * Hub could not be asked what it should be (a file copied by hand while offline).
       */
      readonly type: 'file-ready';
      readonly file: string;
      readonly bytes: number;
      readonly how: 'recorded' | 'verified' | 'downloaded' | 'generated' | 'unverified';
    }
  | {
      /** A file on disk differs from what the Hub reports; it will be downloaded again. */
      readonly type: 'file-invalid';
      readonly file: string;
      readonly problem: string;
    }
  | {
      /** Another process is fetching into the same directory; this one waits for it. */
      readonly type: 'waiting';
      readonly lockPath: string;
    }
  | { readonly type: 'generate-start'; readonly model: ModelName }
  | { readonly type: 'generate-done'; readonly model: ModelName };

export interface EnsureModelFilesOptions {
  readonly onProgress?: (event: ModelFilesEvent) => void;
  /** Default: `hubSettingsFromEnv()` (HF_ENDPOINT, HF_TOKEN), read for Hub models only. */
  readonly hub?: HubSettings;
  readonly signal?: AbortSignal;
  readonly retry?: RetryPolicy;
  /** A download receiving nothing for this long is cut and resumed (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Files downloaded at the same time (default 3). */
  readonly concurrency?: number;
}

/** `<repo>/models`: this workspace's folder; each model's own folder in it is git-ignored. */
export function defaultModelsDir(): string {
  return resolve(import.meta.dirname, '..');
}

/** Where the default models folder was before: `<repo>/models/cache`. */
export function legacyModelsDir(): string {
  return join(defaultModelsDir(), 'cache');
}

/** What `adoptLegacyModelDir` did. */
export type LegacyModelMove =
  | { readonly moved: false }
  | { readonly moved: true; readonly from: string; readonly to: string }
  /** The old folder is there but could not be moved (another disk, permissions). */
  | { readonly moved: false; readonly from: string; readonly to: string; readonly error: string };

/** The default models folder and the one it replaced (tests give their own). */
export interface ModelsFolders {
  readonly current: string;
  readonly legacy: string;
}

function defaultFolders(): ModelsFolders {
  return { current: defaultModelsDir(), legacy: legacyModelsDir() };
}

/**
 * The old folder of model `name` (`<repo>/models/cache/<name>`) when `modelsDir` is the default
 * folder, the model's folder there is missing and the old one exists; undefined otherwise.
 */
export async function legacyModelDir(
  modelsDir: string,
  name: ModelName,
  folders: ModelsFolders = defaultFolders(),
): Promise<string | undefined> {
  if (resolve(modelsDir) !== resolve(folders.current)) return undefined;
  if ((await stat(modelDir(modelsDir, name)).catch(() => undefined)) !== undefined) {
    return undefined;
  }
  const old = join(folders.legacy, name);
  return (await stat(old).catch(() => undefined))?.isDirectory() === true ? old : undefined;
}

/**
 * An install from before keeps its model's files, conversions included, in
 * `<repo>/models/cache/<name>/`. When Zeus uses the default models folder and the model's folder
 * in it is missing, that old folder is moved in (a rename on the same disk), so an update does
 * not download the model again; `models/cache` is removed once empty. Safe to run from several
 * processes at once: one moves it, the others find it moved.
 */
export async function adoptLegacyModelDir(
  modelsDir: string,
  name: ModelName,
  folders: ModelsFolders = defaultFolders(),
): Promise<LegacyModelMove> {
  const from = await legacyModelDir(modelsDir, name, folders);
  if (from === undefined) return { moved: false };
  const to = modelDir(modelsDir, name);
  try {
    await rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Moved meanwhile by another process (or the folder appeared): nothing to do.
    if (code === 'ENOENT' || code === 'EEXIST' || code === 'ENOTEMPTY') return { moved: false };
    return {
      moved: false,
      from,
      to,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  await rmdir(folders.legacy).catch(() => undefined);
  return { moved: true, from, to };
}

/** `ZEUS_MODELS_DIR` when set, else `defaultModelsDir()`. */
export function modelsDirFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const value = env['ZEUS_MODELS_DIR']?.trim() ?? '';
  return value === '' ? defaultModelsDir() : resolve(value);
}

/** A model's directory inside the models directory. */
export function modelDir(modelsDir: string, name: ModelName): string {
  return join(modelsDir, name);
}

const RECORDS_FILE = '.zeus-files.json';

/** Tries of a metadata request (a few seconds in all with the default delays). */
const METADATA_ATTEMPTS = 3;

interface FileRecord {
  /** Where the bytes came from, e.g. "hub:Lightricks/LTX-Video@<sha>:<path>". */
  readonly source: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly digest: FileDigest | null;
}

interface RecordsFile {
  readonly version: 1;
  readonly files: Record<string, FileRecord>;
}

/** `.zeus-files.json` of one model directory; updates are written one at a time, atomically. */
class FileRecords {
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly files: Record<string, FileRecord>,
  ) {}

  static async load(dir: string): Promise<FileRecords> {
    try {
      const parsed = JSON.parse(
        await readFile(join(dir, RECORDS_FILE), 'utf8'),
      ) as Partial<RecordsFile>;
      if (parsed.version === 1 && typeof parsed.files === 'object') {
        return new FileRecords(dir, { ...parsed.files });
      }
    } catch {
      // Missing or unreadable: every file is checked again.
    }
    return new FileRecords(dir, {});
  }

  /** True when `target` was recorded from `source` and is unchanged on disk since. */
  async isCurrent(target: string, source: string): Promise<boolean> {
    const record = this.files[target];
    if (record?.source !== source) return false;
    const info = await stat(join(this.dir, target)).catch(() => undefined);
    return (
      info !== undefined &&
      info.isFile() &&
      info.size === record.size &&
      info.mtimeMs === record.mtimeMs
    );
  }

  async record(target: string, source: string, digest: FileDigest | null): Promise<void> {
    const info = await stat(join(this.dir, target));
    this.files[target] = { source, size: info.size, mtimeMs: info.mtimeMs, digest };
    const write = this.writes.then(() => this.save());
    this.writes = write.catch(() => undefined);
    await write;
  }

  private async save(): Promise<void> {
    const path = join(this.dir, RECORDS_FILE);
    const temporary = `${path}.${randomUUID()}.tmp`;
    const sorted = Object.fromEntries(
      Object.entries(this.files).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    await writeFile(
      temporary,
      `${JSON.stringify({ version: 1, files: sorted } satisfies RecordsFile, null, 2)}\n`,
    );
    await rename(temporary, path);
  }
}

const ensuring = new Map<string, Promise<ModelFiles>>();

/**
 * Makes sure every file of `spec` is in `dir` (downloading or generating what is missing or
 * does not verify) and returns their paths. Concurrent calls for one directory share the work;
 * processes sharing the directory take turns (a lock file inside it).
 */
export function ensureModelFiles(
  spec: ModelSpec,
  dir: string,
  options: EnsureModelFilesOptions = {},
): Promise<ModelFiles> {
  const key = resolve(dir);
  const running = ensuring.get(key);
  if (running !== undefined) return running;
  const work = (async () => {
    const hub = spec.kind === 'hub' ? (options.hub ?? hubSettingsFromEnv()) : undefined;
    const ensure = () =>
      spec.kind === 'hub'
        ? ensureHubModel(spec, key, options, hub ?? hubSettingsFromEnv())
        : ensureGeneratedModel(spec, key, options);
    // A complete directory is only read: no lock, so starting never waits on another process.
    if ((await findModelFiles(spec, key, hub)) !== undefined) return await ensure();
    await mkdir(key, { recursive: true });
    return await withDirectoryLock(key, options, ensure);
  })().finally(() => ensuring.delete(key));
  ensuring.set(key, work);
  return work;
}

const LOCK_FILE = '.zeus-files.lock';

/** Runs `work` holding `<dir>/.zeus-files.lock`, waiting for another holder to finish first. */
function withDirectoryLock<T>(
  dir: string,
  options: EnsureModelFilesOptions,
  work: () => Promise<T>,
): Promise<T> {
  const lockPath = join(dir, LOCK_FILE);
  return withFileLock(
    lockPath,
    {
      staleMs: 60_000,
      refreshMs: 10_000,
      pollMs: 500,
      signal: options.signal,
      onWait: () => options.onProgress?.({ type: 'waiting', lockPath }),
    },
    work,
  );
}

/**
 * The model's files when they are all in place and recorded as verified (from `hub`, default
 * `hubSettingsFromEnv()`, for Hub models), without any network access or hashing; undefined
 * otherwise.
 */
export async function findModelFiles(
  spec: ModelSpec,
  dir: string,
  hub?: HubSettings,
): Promise<ModelFiles | undefined> {
  const root = resolve(dir);
  const records = await FileRecords.load(root);
  if (spec.kind === 'generated') {
    const source = generatedSource(spec);
    for (const target of tinyModelTargets(spec.checkpointFile)) {
      if (!(await records.isCurrent(target, source))) return undefined;
    }
    return layout(
      spec.name,
      root,
      `${CHECKPOINT_DIR}/${spec.checkpointFile}`,
      await readShardNames(root),
    );
  }
  const settings = hub ?? hubSettingsFromEnv();
  for (const file of spec.files) {
    if (!(await records.isCurrent(file.target, hubSource(file, settings)))) return undefined;
  }
  for (const shard of await shardSpecs(spec, root)) {
    if (!(await records.isCurrent(shard.target, hubSource(shard, settings)))) return undefined;
  }
  return layout(spec.name, root, spec.checkpoint.target, await readShardNames(root));
}

async function ensureHubModel(
  spec: HubModelSpec,
  dir: string,
  options: EnsureModelFilesOptions,
  hub: HubSettings,
): Promise<ModelFiles> {
  await mkdir(dir, { recursive: true });
  const records = await FileRecords.load(dir);
  await ensureHubFiles(spec.files, dir, records, options, hub);
  await ensureHubFiles(await shardSpecs(spec, dir), dir, records, options, hub);
  return layout(spec.name, dir, spec.checkpoint.target, await readShardNames(dir));
}

/**
 * Where a file was verified from. The endpoint is part of it: files a test server or a mirror
 * served are checked again before they count as the files of huggingface.co.
 */
function hubSource(file: HubFileSpec, hub: HubSettings): string {
  return `hub:${hub.endpoint}/${file.repo}@${file.revision}:${file.path}`;
}

/** The shard files named by the (already present) index files of `spec`. */
async function shardSpecs(spec: HubModelSpec, dir: string): Promise<HubFileSpec[]> {
  const shards: HubFileSpec[] = [];
  for (const index of spec.files.filter((file) => file.shardIndex === true)) {
    const repoFolder = index.path.includes('/')
      ? index.path.slice(0, index.path.lastIndexOf('/') + 1)
      : '';
    const targetFolder = index.target.includes('/')
      ? index.target.slice(0, index.target.lastIndexOf('/') + 1)
      : '';
    for (const name of await shardNamesOf(join(dir, index.target))) {
      shards.push({
        repo: index.repo,
        revision: index.revision,
        path: repoFolder + name,
        target: targetFolder + name,
      });
    }
  }
  return shards;
}

/** The distinct files of a safetensors index's `weight_map`, sorted. */
export async function shardNamesOf(indexPath: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new Error(`${indexPath} is not a readable safetensors index`, { cause: error });
  }
  const weightMap = (index as { weight_map?: unknown }).weight_map;
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new Error(`${indexPath} has no weight_map`);
  }
  const names = new Set<string>();
  for (const [tensor, file] of Object.entries(weightMap)) {
    // The names become local paths: only plain file names in the index's own folder.
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file)) {
      throw new Error(`${indexPath}: weight_map["${tensor}"] is not a safetensors file name`);
    }
    names.add(file);
  }
  return [...names].sort();
}

async function readShardNames(dir: string): Promise<string[]> {
  return shardNamesOf(join(dir, TEXT_ENCODER_DIR, TEXT_ENCODER_INDEX));
}

async function exists(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() === true;
}

async function ensureHubFiles(
  files: readonly HubFileSpec[],
  dir: string,
  records: FileRecords,
  options: EnsureModelFilesOptions,
  hub: HubSettings,
): Promise<void> {
  const emit = options.onProgress ?? (() => undefined);
  const pending: HubFileSpec[] = [];
  for (const file of files) {
    if (await records.isCurrent(file.target, hubSource(file, hub))) {
      const { size } = await stat(join(dir, file.target));
      emit({ type: 'file-ready', file: file.target, bytes: size, how: 'recorded' });
    } else {
      pending.push(file);
    }
  }
  if (pending.length === 0) return;

  const retry = options.retry ?? DEFAULT_RETRY;
  const destination = (file: HubFileSpec) => join(dir, file.target);
  const remote = new Map<HubFileSpec, RemoteFile>();
  try {
    for (const [, group] of groupBy(pending, (file) => `${file.repo}@${file.revision}`)) {
      const first = group[0];
      if (first === undefined) continue;
      const byPath = new Map(group.map((file) => [file.path, file]));
      const infos = await fetchRemoteFiles(
        first.repo,
        first.revision,
        group.map((file) => file.path),
        hub,
        (path) => destination(byPath.get(path) ?? first),
        // Asking what the files are is quick: give up sooner than on a long download.
        { ...retry, attempts: Math.min(retry.attempts, METADATA_ATTEMPTS) },
        (attempt, error) => {
          emit({ type: 'download-retry', file: first.target, attempt, error: error.detail });
        },
      );
      for (const file of group) {
        const info = infos.get(file.path);
        if (info !== undefined) remote.set(file, info);
      }
    }
  } catch (error) {
    // The Hub cannot say what the files should be. Files already on disk (copied by hand) are
    // used as they are; a missing one is an error that names it and what to do.
    if (!(error instanceof HubDownloadError) || error.reason !== 'unreachable') throw error;
    for (const file of pending) {
      if (!(await exists(destination(file)))) {
        const location = {
          repo: file.repo,
          revision: file.revision,
          path: file.path,
          destination: destination(file),
        };
        throw new HubDownloadError('unreachable', location, hub.endpoint, error.detail, {
          cause: error,
        });
      }
    }
    for (const file of pending) {
      const { size } = await stat(destination(file));
      emit({ type: 'file-ready', file: file.target, bytes: size, how: 'unverified' });
    }
    return;
  }

  const downloads: { file: HubFileSpec; info: RemoteFile }[] = [];
  for (const file of pending) {
    const info = remote.get(file);
    if (info === undefined) continue;
    const path = destination(file);
    if (await exists(path)) {
      const problem = await checkLocalFile(path, info, file.target, emit);
      if (problem === undefined) {
        await records.record(file.target, hubSource(file, hub), info.digest ?? null);
        emit({ type: 'file-ready', file: file.target, bytes: info.size, how: 'verified' });
        continue;
      }
      emit({ type: 'file-invalid', file: file.target, problem });
    }
    downloads.push({ file, info });
  }
  if (downloads.length === 0) return;
  await checkFreeSpace(dir, downloads, destination, hub.endpoint);
  emit({
    type: 'plan',
    files: downloads.map(({ file, info }) => ({ file: file.target, bytes: info.size })),
  });
  await runPool(downloads, options.concurrency ?? 3, async ({ file, info }) => {
    await downloadHubFile(info, destination(file), {
      hub,
      label: file.target,
      onEvent: emit,
      retry,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    });
    await records.record(file.target, hubSource(file, hub), info.digest ?? null);
    emit({ type: 'file-ready', file: file.target, bytes: info.size, how: 'downloaded' });
  });
}

/** Fails before downloading anything when the files cannot fit on the disk. */
async function checkFreeSpace(
  dir: string,
  downloads: readonly { file: HubFileSpec; info: RemoteFile }[],
  destination: (file: HubFileSpec) => string,
  endpoint: string,
): Promise<void> {
  let needed = 0;
  for (const { file, info } of downloads) {
    const part = await stat(`${destination(file)}.part`).catch(() => undefined);
    needed += info.size - Math.min(part?.size ?? 0, info.size);
  }
  const disk = await statfs(dir).catch(() => undefined);
  if (disk === undefined) return;
  const free = disk.bavail * disk.bsize;
  const first = downloads[0];
  if (needed > free && first !== undefined) {
    throw new HubDownloadError(
      'local-io',
      { ...first.file, destination: destination(first.file) },
      endpoint,
      `the model needs ${formatGiB(needed)} more and the disk has ${formatGiB(free)} free`,
    );
  }
}

function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** Why a file on disk is not the one the Hub describes; undefined when it is. */
async function checkLocalFile(
  path: string,
  info: RemoteFile,
  label: string,
  emit: (event: ModelFilesEvent) => void,
): Promise<string | undefined> {
  const { size } = await stat(path);
  if (size !== info.size) return `it has ${size} bytes, the Hub reports ${info.size}`;
  if (info.digest === undefined) return undefined;
  const actual = await digestFile(path, info.digest.algorithm, size, (checkedBytes) => {
    emit({ type: 'verify-progress', file: label, checkedBytes, totalBytes: size });
  });
  return actual.hex === info.digest.hex
    ? undefined
    : `its ${info.digest.algorithm} is ${actual.hex}, the Hub reports ${info.digest.hex}`;
}

const STAGING_PREFIX = '.generating-';

function generatedSource(spec: GeneratedModelSpec): string {
  return `generated:${spec.name}:v${TINY_GENERATOR_VERSION}:seed${spec.seed}`;
}

async function ensureGeneratedModel(
  spec: GeneratedModelSpec,
  dir: string,
  options: EnsureModelFilesOptions,
): Promise<ModelFiles> {
  const emit = options.onProgress ?? (() => undefined);
  await mkdir(dir, { recursive: true });
  const records = await FileRecords.load(dir);
  const source = generatedSource(spec);
  const targets = tinyModelTargets(spec.checkpointFile);
  let current = true;
  for (const target of targets) current &&= await records.isCurrent(target, source);
  if (!current) {
    emit({ type: 'generate-start', model: spec.name });
    // Holding the lock, staging folders are what a crashed run left.
    for (const name of await readdir(dir)) {
      if (name.startsWith(STAGING_PREFIX))
        await rm(join(dir, name), { recursive: true, force: true });
    }
    // Generated aside and moved in file by file, so no file is ever seen half-written.
    const staging = join(dir, `${STAGING_PREFIX}${randomUUID()}`);
    try {
      await generateTinyModel(staging, { seed: spec.seed, checkpointFile: spec.checkpointFile });
      for (const target of targets) {
        await mkdir(dirname(join(dir, target)), { recursive: true });
        await rename(join(staging, target), join(dir, target));
        const { size } = await stat(join(dir, target));
        await records.record(target, source, await digestFile(join(dir, target), 'sha256', size));
        emit({ type: 'file-ready', file: target, bytes: size, how: 'generated' });
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    emit({ type: 'generate-done', model: spec.name });
  } else {
    for (const target of targets) {
      const { size } = await stat(join(dir, target));
      emit({ type: 'file-ready', file: target, bytes: size, how: 'recorded' });
    }
  }
  return layout(
    spec.name,
    dir,
    `${CHECKPOINT_DIR}/${spec.checkpointFile}`,
    await readShardNames(dir),
  );
}

function layout(
  name: ModelName,
  dir: string,
  checkpoint: string,
  shards: readonly string[],
): ModelFiles {
  const textEncoderDir = join(dir, TEXT_ENCODER_DIR);
  const tokenizerDir = join(dir, TOKENIZER_DIR);
  return {
    name,
    dir,
    checkpoint: join(dir, checkpoint),
    textEncoderDir,
    textEncoderConfig: join(textEncoderDir, 'config.json'),
    textEncoderIndex: join(textEncoderDir, TEXT_ENCODER_INDEX),
    textEncoderShards: shards.map((shard) => join(textEncoderDir, shard)),
    tokenizerDir,
    spieceModel: join(tokenizerDir, 'spiece.model'),
    onnxDir: join(dir, ONNX_DIR),
  };
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

/** Runs `task` on every item, at most `limit` at a time; fails with the first failure. */
async function runPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      if (item === undefined) continue;
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  await Promise.all(workers);
}
