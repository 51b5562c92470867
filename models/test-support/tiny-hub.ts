/**
 * The tiny-random model laid out as the real Hub repositories, under the real repository and
 * file names, for a local Hub server: the whole stack can then run the real download path
 * (HF_ENDPOINT pointing at the server) and get a model that runs in seconds.
 *
 *   const { repos } = await writeTinyHubRepos(tempDir);
 *   const hub = await startHubServer({ repos });
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINT_DIR,
  LTX_CHECKPOINT_FILE,
  LTX_VIDEO_REPO,
  TEXT_ENCODER_DIR,
  TEXT_ENCODER_REPO,
  TOKENIZER_DIR,
  modelSpec,
} from '../src/registry.ts';
import { generateTinyModel } from '../src/tiny/generate.ts';

export interface TinyHubRepos {
  /** Repository name → directory, for `startHubServer({ repos })`. */
  readonly repos: Readonly<Record<string, string>>;
}

/** Writes the tiny model under `root` as the LTX-Video and PixArt repositories (replacing earlier ones). */
export async function writeTinyHubRepos(
  root: string,
  options: { readonly seed?: number } = {},
): Promise<TinyHubRepos> {
  const tiny = modelSpec('tiny-random');
  const seed = options.seed ?? (tiny.kind === 'generated' ? tiny.seed : 0);
  const staging = join(root, '.tiny-random');
  const ltxDir = join(root, ...LTX_VIDEO_REPO.split('/'));
  const pixartDir = join(root, ...TEXT_ENCODER_REPO.split('/'));
  // Whatever an earlier call left is replaced.
  await Promise.all(
    [staging, ltxDir, pixartDir].map((dir) => rm(dir, { recursive: true, force: true })),
  );
  await generateTinyModel(staging, { seed, checkpointFile: LTX_CHECKPOINT_FILE });
  await mkdir(ltxDir, { recursive: true });
  await mkdir(pixartDir, { recursive: true });
  await rename(
    join(staging, CHECKPOINT_DIR, LTX_CHECKPOINT_FILE),
    join(ltxDir, LTX_CHECKPOINT_FILE),
  );
  await rename(join(staging, TEXT_ENCODER_DIR), join(pixartDir, TEXT_ENCODER_DIR));
  await rename(join(staging, TOKENIZER_DIR), join(pixartDir, TOKENIZER_DIR));
  await rm(staging, { recursive: true, force: true });
  // Real repositories hold more than Zeus needs; none of it may be downloaded.
  await writeFile(join(ltxDir, 'README.md'), '# LTX-Video (tiny-random stand-in)\n');
  await writeFile(join(pixartDir, 'README.md'), '# PixArt-XL-2-1024-MS (tiny-random stand-in)\n');
  return { repos: { [LTX_VIDEO_REPO]: ltxDir, [TEXT_ENCODER_REPO]: pixartDir } };
}
