/**
 * Where the model folders are: the models directory (`ZEUS_MODELS_DIR`, by default this
 * workspace's folder), each model's folder in it, and the folder an older Zeus used
 * (`models/cache/<name>`), which `adoptLegacyModelDir` moves into place.
 */
import { rename, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelName } from '../registry.ts';

/** `<repo>/models`: this workspace's folder; each model's own folder in it is git-ignored. */
export function defaultModelsDir(): string {
  return resolve(import.meta.dirname, '../..');
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
