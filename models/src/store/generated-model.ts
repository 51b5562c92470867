/**
 * A generated model's files (tiny-random): written by the generator into a staging folder and
 * moved into the model's directory file by file, once per seed and generator version.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { digestFile } from '../hub/digest.ts';
import { CHECKPOINT_DIR, type GeneratedModelSpec } from '../registry.ts';
import { generateTinyModel, TINY_GENERATOR_VERSION, tinyModelTargets } from '../tiny/generate.ts';
import { FileRecords } from './file-records.ts';
import type { EnsureModelFilesOptions } from './model-files.ts';
import { modelLayout, type ModelFiles } from './model-layout.ts';

const STAGING_PREFIX = '.generating-';

/** What a generated file's record names as its source: the model, generator version and seed. */
export function generatedSource(spec: GeneratedModelSpec): string {
  return `generated:${spec.name}:v${TINY_GENERATOR_VERSION}:seed${spec.seed}`;
}

export async function ensureGeneratedModel(
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
  return modelLayout(spec.name, dir, `${CHECKPOINT_DIR}/${spec.checkpointFile}`);
}
