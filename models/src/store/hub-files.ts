/**
 * A Hub model's files in its directory: each is checked against what the Hub reports (size and
 * hash) and downloaded when missing or different; files copied by hand are used as they are when
 * the Hub cannot be reached.
 */
import { mkdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFile } from '../hub/digest.ts';
import { downloadHubFile } from '../hub/download.ts';
import { HubDownloadError } from '../hub/errors.ts';
import { DEFAULT_RETRY, fetchRemoteFiles, type RemoteFile } from '../hub/remote.ts';
import type { HubSettings } from '../hub/settings.ts';
import type { HubFileSpec, HubModelSpec } from '../registry.ts';
import { FileRecords } from './file-records.ts';
import type { EnsureModelFilesOptions, ModelFilesEvent } from './model-files.ts';
import { modelLayout, shardNamesOf, type ModelFiles } from './model-layout.ts';
import { runPool } from './run-pool.ts';

/** Tries of a metadata request (a few seconds in all with the default delays). */
const METADATA_ATTEMPTS = 3;

export async function ensureHubModel(
  spec: HubModelSpec,
  dir: string,
  options: EnsureModelFilesOptions,
  hub: HubSettings,
): Promise<ModelFiles> {
  await mkdir(dir, { recursive: true });
  const records = await FileRecords.load(dir);
  await ensureHubFiles(spec.files, dir, records, options, hub);
  await ensureHubFiles(await shardSpecs(spec, dir), dir, records, options, hub);
  return modelLayout(spec.name, dir, spec.checkpoint.target);
}

/**
 * Where a file was verified from. The endpoint is part of it: files a test server or a mirror
 * served are checked again before they count as the files of huggingface.co.
 */
export function hubSource(file: HubFileSpec, hub: HubSettings): string {
  return `hub:${hub.endpoint}/${file.repo}@${file.revision}:${file.path}`;
}

/** The shard files named by the (already present) index files of `spec`. */
export async function shardSpecs(spec: HubModelSpec, dir: string): Promise<HubFileSpec[]> {
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
