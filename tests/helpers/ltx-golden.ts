/**
 * The LTX-Video reference data the model and inference tests compare against: the folder
 * ZEUS_LTX_GOLDEN names, or the repository's own copy, tests/fixtures/ltx/golden (made by the
 * official implementation; its README says how).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's reference data, used when ZEUS_LTX_GOLDEN is unset. */
export const DEFAULT_LTX_GOLDEN_DIR = fileURLToPath(
  new URL('../fixtures/ltx/golden', import.meta.url),
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
      ? `The LTX-Video reference data is missing: ${dir} does not exist. It is part of the ` +
          'repository (tests/fixtures/ltx/golden): restore it with ' +
          '`git checkout -- tests/fixtures/ltx/golden`, or set ZEUS_LTX_GOLDEN to a folder of ' +
          'the same layout.'
      : `The LTX-Video reference data is missing: ZEUS_LTX_GOLDEN is ${dir}, which does not ` +
          'exist. Point it at a folder in the layout of tests/fixtures/ltx/golden, or unset it ' +
          `to use ${DEFAULT_LTX_GOLDEN_DIR}.`,
  );
}
