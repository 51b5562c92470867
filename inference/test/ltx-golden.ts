import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';

/**
 * The reference data the official implementation made, in the repository at
 * tests/fixtures/ltx/golden; ZEUS_LTX_GOLDEN points the tests at another reference set of the same
 * layout. A test file that imports this fails at once, naming the folder, when the data is missing.
 */
export const GOLDEN_DIR = ltxGoldenDir();
