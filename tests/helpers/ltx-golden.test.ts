import { describe, expect, it } from 'vitest';
import { DEFAULT_LTX_GOLDEN_DIR, ltxGoldenDir } from './ltx-golden.ts';

describe('ltxGoldenDir', () => {
  it('is shared/ltx/golden beside the repository, or the folder ZEUS_LTX_GOLDEN names', () => {
    expect(DEFAULT_LTX_GOLDEN_DIR).toMatch(/\/shared\/ltx\/golden$/);
    expect(ltxGoldenDir({}, () => true)).toBe(DEFAULT_LTX_GOLDEN_DIR);
    expect(ltxGoldenDir({ ZEUS_LTX_GOLDEN: '' }, () => true)).toBe(DEFAULT_LTX_GOLDEN_DIR);
    expect(ltxGoldenDir({ ZEUS_LTX_GOLDEN: '/data/golden' }, () => true)).toBe('/data/golden');
  });

  it('names the missing folder and ZEUS_LTX_GOLDEN instead of failing with ENOENT later', () => {
    expect(() => ltxGoldenDir({}, () => false)).toThrow(
      `The LTX-Video reference data is missing: ${DEFAULT_LTX_GOLDEN_DIR} does not exist. ` +
        'These tests compare against it (shared/ltx/golden, beside the repository, not in it): ' +
        'put it there, or set ZEUS_LTX_GOLDEN to a folder of the same layout.',
    );
    expect(() => ltxGoldenDir({ ZEUS_LTX_GOLDEN: '/nowhere/golden' }, () => false)).toThrow(
      'ZEUS_LTX_GOLDEN is /nowhere/golden, which does not exist.',
    );
  });
});
