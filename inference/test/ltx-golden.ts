import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';

/**
 * The reference vectors of shared/ltx/golden (read-only test data beside the repository);
 * ZEUS_LTX_GOLDEN points the tests at another reference set of the same format. A test file that
 * imports this fails at once, naming the folder, when the data is missing.
 */
export const GOLDEN_DIR = ltxGoldenDir();
