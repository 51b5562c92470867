/**
 * The on-disk cache of converted models. A conversion (checkpoint → ONNX files) is slow and its
 * output is large, so it runs once per distinct input and lives next to the weights:
 *
 *   <cacheRoot>/<component>-<dtype>-<key>/model.onnx (+ model.onnx.data, conversion.json)
 *
 * `key` hashes the component, dtype, converter version, extra options and the sha256 of every
 * source file, so a new checkpoint or a new converter gives a new folder. Each folder is built
 * in a temporary directory and renamed into place when complete, so a crash never leaves a
 * half-written model where a reader would find it. A lock file (refreshed while building)
 * keeps two processes sharing the folder from converting the same thing at once.
 *
 *   const model = await convertCached({
 *     cacheRoot: join(modelDir, 'onnx'),
 *     component: 'transformer', dtype: 'fp16', converterVersion: 3,
 *     sources: [checkpointPath],
 *     build: (dir, onProgress) => graph.save(join(dir, 'model.onnx'), { onProgress }),
 *     onProgress: (event) => log(event),
 *   });
 *   await ModelSession.load(model.modelPath, ...);
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from '../file-lock.ts';
import { cachedSha256 } from './file-hash.ts';

export interface ConversionKey {
  /** What is converted, e.g. 'transformer', 't5-encoder', 'vae-decoder' (a folder-name part). */
  readonly component: string;
  /** Weight precision, e.g. 'fp32' or 'fp16' (a folder-name part). */
  readonly dtype: string;
  /** Change it whenever the converter writes different files for the same inputs. */
  readonly converterVersion: string | number;
  /** Files the output is made from (checkpoint, config files…); their sha256 enters the key. */
  readonly sources: readonly string[];
  /** Anything else the output depends on, JSON-serialisable (e.g. build options). */
  readonly options?: unknown;
}

export type ConversionEvent =
  | {
      readonly kind: 'hashing';
      readonly file: string;
      readonly bytesDone: number;
      readonly bytesTotal: number;
    }
  | { readonly kind: 'waiting'; readonly lockPath: string }
  | { readonly kind: 'writing'; readonly bytesWritten: number; readonly bytesTotal: number }
  | { readonly kind: 'ready'; readonly dir: string; readonly fromCache: boolean }
  /** Something the converter did that the user should know of, in words. */
  | { readonly kind: 'notice'; readonly message: string };

export interface ConvertCachedOptions extends ConversionKey {
  /** The folder of converted models, e.g. `<model dir>/onnx`. Created when missing. */
  readonly cacheRoot: string;
  /**
   * Writes the converted files into `dir`, an empty temporary folder, calling `onProgress`
   * with bytes written so far and bytes in all (GraphBuilder.save's `onProgress` fits).
   */
  readonly build: (
    dir: string,
    onProgress: (bytesWritten: number, bytesTotal: number) => void,
  ) => Promise<void>;
  readonly onProgress?: (event: ConversionEvent) => void;
  /** The file callers load, which `build` must create. Default 'model.onnx'. */
  readonly modelFile?: string;
  /** A lock not refreshed for this long belongs to a dead process. Default 120 s. */
  readonly staleLockMs?: number;
}

export interface ConvertedModel {
  /** The folder holding the converted files. */
  readonly dir: string;
  /** `dir` + the model file name: what to load. */
  readonly modelPath: string;
  /** The key hash (folder-name suffix). */
  readonly key: string;
  /** False when this call ran the conversion. */
  readonly fromCache: boolean;
}

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

/** Bump when the cache layout itself changes (not a converter's output). */
const CACHE_LAYOUT_VERSION = 1;
const RECORD_FILE = 'conversion.json';
const HASHES_FILE = 'source-hashes.json';
const LOCK_REFRESH_MS = 5_000;
const WAIT_POLL_MS = 1_000;

/** Conversions in progress in this process, by folder, so concurrent callers share one. */
const inFlight = new Map<string, Promise<ConvertedModel>>();

/** Returns the converted model, converting first unless an identical conversion is cached. */
export async function convertCached(options: ConvertCachedOptions): Promise<ConvertedModel> {
  checkNamePart('component', options.component);
  checkNamePart('dtype', options.dtype);
  await mkdir(options.cacheRoot, { recursive: true });
  const sourceHashes: string[] = [];
  for (const source of options.sources) {
    sourceHashes.push(
      await cachedSha256(source, join(options.cacheRoot, HASHES_FILE), (progress) =>
        options.onProgress?.({ kind: 'hashing', ...progress }),
      ),
    );
  }
  const key = conversionKey(options, sourceHashes);
  const dir = join(options.cacheRoot, `${options.component}-${options.dtype}-${key}`);
  const running = inFlight.get(dir);
  if (running !== undefined) return running;
  const conversion = convertOnce(options, key, dir, sourceHashes).finally(() =>
    inFlight.delete(dir),
  );
  inFlight.set(dir, conversion);
  return conversion;
}

/** The key hash of a conversion, given the sha256 of each source in order. */
export function conversionKey(key: ConversionKey, sourceHashes: readonly string[]): string {
  const text = JSON.stringify({
    layout: CACHE_LAYOUT_VERSION,
    component: key.component,
    dtype: key.dtype,
    converterVersion: key.converterVersion,
    sources: sourceHashes,
    options: key.options ?? null,
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * Removes the cached conversions of `component`/`dtype` other than `keepKey` (older
 * checkpoints or converter versions). Callers decide when no process can still be using them.
 */
export async function removeStaleConversions(
  cacheRoot: string,
  component: string,
  dtype: string,
  keepKey: string,
): Promise<string[]> {
  const prefix = `${component}-${dtype}-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(cacheRoot);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || name === `${prefix}${keepKey}`) continue;
    if (!/^[0-9a-f]{16}$/.test(name.slice(prefix.length))) continue;
    await rm(join(cacheRoot, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

async function convertOnce(
  options: ConvertCachedOptions,
  key: string,
  dir: string,
  sourceHashes: readonly string[],
): Promise<ConvertedModel> {
  const modelFile = options.modelFile ?? 'model.onnx';
  const result = (fromCache: boolean): ConvertedModel => {
    options.onProgress?.({ kind: 'ready', dir, fromCache });
    return { dir, modelPath: join(dir, modelFile), key, fromCache };
  };
  if (await isComplete(dir)) return result(true);

  const lockPath = `${dir}.lock`;
  const lockOptions = {
    staleMs: options.staleLockMs ?? 120_000,
    refreshMs: LOCK_REFRESH_MS,
    pollMs: WAIT_POLL_MS,
    onWait: () => options.onProgress?.({ kind: 'waiting', lockPath }),
  };
  return withFileLock(lockPath, lockOptions, async () => {
    // Whoever held the lock may have just built it.
    if (await isComplete(dir)) return result(true);
    const temporary = join(
      options.cacheRoot,
      `.tmp-${options.component}-${options.dtype}-${key}-${randomBytes(4).toString('hex')}`,
    );
    try {
      // Holding the lock, anything half-built for this key is a crashed writer's leftover.
      await removeLeftovers(
        options.cacheRoot,
        `.tmp-${options.component}-${options.dtype}-${key}-`,
      );
      await rm(dir, { recursive: true, force: true });
      await mkdir(temporary);
      await options.build(temporary, (bytesWritten, bytesTotal) =>
        options.onProgress?.({ kind: 'writing', bytesWritten, bytesTotal }),
      );
      try {
        await stat(join(temporary, modelFile));
      } catch {
        throw new ConversionError(
          `Converting ${options.component} (${options.dtype}) produced no ${modelFile}`,
        );
      }
      const record = {
        component: options.component,
        dtype: options.dtype,
        converterVersion: options.converterVersion,
        sources: options.sources.map((path, index) => ({ path, sha256: sourceHashes[index] })),
        options: options.options ?? null,
        modelFile,
        createdAt: new Date().toISOString(),
      };
      await writeFile(join(temporary, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await rename(temporary, dir);
      return result(false);
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
  });
}

async function removeLeftovers(cacheRoot: string, prefix: string): Promise<void> {
  for (const name of await readdir(cacheRoot)) {
    if (name.startsWith(prefix)) await rm(join(cacheRoot, name), { recursive: true, force: true });
  }
}

async function isComplete(dir: string): Promise<boolean> {
  try {
    JSON.parse(await readFile(join(dir, RECORD_FILE), 'utf8'));
    return true;
  } catch {
    return false;
  }
}

function checkNamePart(what: string, value: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*$/.test(value)) {
    throw new ConversionError(`Conversion ${what} "${value}" is not a valid folder-name part`);
  }
}
