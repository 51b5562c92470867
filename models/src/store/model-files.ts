/**
 * The on-disk model store: `ensureModelFiles`, which downloads (from the Hub) or generates
 * (tiny-random) whatever is missing of a model and returns the paths, and `findModelFiles`,
 * which only looks.
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
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { withFileLock } from '../file-lock.ts';
import type { DownloadEvent } from '../hub/download.ts';
import type { RetryPolicy } from '../hub/remote.ts';
import { hubSettingsFromEnv, type HubSettings } from '../hub/settings.ts';
import { CHECKPOINT_DIR, type ModelName, type ModelSpec } from '../registry.ts';
import { tinyModelTargets } from '../tiny/generate.ts';
import { FileRecords } from './file-records.ts';
import { ensureGeneratedModel, generatedSource } from './generated-model.ts';
import { ensureHubModel, hubSource, shardSpecs } from './hub-files.ts';
import { modelLayout, type ModelFiles } from './model-layout.ts';

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
    return modelLayout(spec.name, root, `${CHECKPOINT_DIR}/${spec.checkpointFile}`);
  }
  const settings = hub ?? hubSettingsFromEnv();
  for (const file of spec.files) {
    if (!(await records.isCurrent(file.target, hubSource(file, settings)))) return undefined;
  }
  for (const shard of await shardSpecs(spec, root)) {
    if (!(await records.isCurrent(shard.target, hubSource(shard, settings)))) return undefined;
  }
  return modelLayout(spec.name, root, spec.checkpoint.target);
}
