/**
 * The LTX-Video reference data the model and inference tests compare against: shared/ltx/golden,
 * beside the repository (not in it), or the folder ZEUS_LTX_GOLDEN names.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the reference data is expected when ZEUS_LTX_GOLDEN is unset. */
export const DEFAULT_LTX_GOLDEN_DIR = fileURLToPath(
  new URL('../../../shared/ltx/golden', import.meta.url),
);

/**
 * The reference folder; throws, naming the folder and ZEUS_LTX_GOLDEN, when it is missing, so a
 * test file that needs it fails with what to do instead of an ENOENT on its first read.
 */
export function ltxGoldenDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  exists: (path: string) => boolean = existsSync,
): string {
  const override = env['ZEUS_LTX_GOLDEN'];
  const dir = override === undefined || override === '' ? DEFAULT_LTX_GOLDEN_DIR : override;
  if (exists(dir)) return dir;
  throw new Error(
    override === undefined || override === ''
      ? `The LTX-Video reference data is missing: ${dir} does not exist. These tests compare ` +
          'against it (shared/ltx/golden, beside the repository, not in it): put it there, or ' +
          'set ZEUS_LTX_GOLDEN to a folder of the same layout.'
      : `The LTX-Video reference data is missing: ZEUS_LTX_GOLDEN is ${dir}, which does not ` +
          `exist. Point it at a folder in the layout of shared/ltx/golden, or unset it to use ` +
          `${DEFAULT_LTX_GOLDEN_DIR}.`,
  );
}
