import { fileURLToPath } from 'node:url';

/**
 * The reference vectors of shared/ltx/golden (read-only test data beside the repository);
 * ZEUS_LTX_GOLDEN points the tests at another reference set of the same format.
 */
export const GOLDEN_DIR =
  process.env['ZEUS_LTX_GOLDEN'] ??
  fileURLToPath(new URL('../../../shared/ltx/golden', import.meta.url));
