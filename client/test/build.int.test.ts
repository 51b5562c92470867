import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_MODE, DIST_DIR, isBuildFresh, isStampFresh } from '../build.ts';

describe('isStampFresh', () => {
  it('accepts a production build made from the current sources or newer', () => {
    expect(isStampFresh({ sourcesModifiedAt: 1000, mode: 'production' }, 1000)).toBe(true);
    expect(isStampFresh({ sourcesModifiedAt: 1001, mode: 'production' }, 1000)).toBe(true);
  });

  it('rebuilds when the sources are newer than the build', () => {
    expect(isStampFresh({ sourcesModifiedAt: 999, mode: 'production' }, 1000)).toBe(false);
  });

  it('rebuilds a development build and a build stamped before the mode was recorded', () => {
    expect(isStampFresh({ sourcesModifiedAt: 2000, mode: 'development' }, 1000)).toBe(false);
    expect(isStampFresh({ sourcesModifiedAt: 2000, mode: 'test' }, 1000)).toBe(false);
    expect(isStampFresh({ sourcesModifiedAt: 2000 }, 1000)).toBe(false);
  });

  it('rebuilds when the stamp is not what a build writes', () => {
    expect(isStampFresh(null, 1000)).toBe(false);
    expect(isStampFresh('production', 1000)).toBe(false);
    expect(isStampFresh({ sourcesModifiedAt: '2000', mode: 'production' }, 1000)).toBe(false);
  });
});

// tests/global-setup.ts ran ensureClientBuilt() in vitest's main process, where NODE_ENV is
// "test": the app in client/dist is the one Caddy serves after a test run.
describe('the built web app', () => {
  it('is a fresh production build', async () => {
    expect(process.env['NODE_ENV']).toBe('test');
    const stamp = JSON.parse(await readFile(join(DIST_DIR, '.zeus-build.json'), 'utf8')) as {
      mode?: unknown;
    };
    expect(stamp.mode).toBe(BUILD_MODE);
    expect(await isBuildFresh()).toBe(true);
  });

  it("contains none of React's development code", async () => {
    const assets = join(DIST_DIR, 'assets');
    const scripts = (await readdir(assets)).filter((name) => name.endsWith('.js'));
    expect(scripts.some((name) => name.startsWith('app-'))).toBe(true);
    const withDevelopmentCode: string[] = [];
    for (const name of scripts) {
      const code = await readFile(join(assets, name), 'utf8');
      if (code.includes('jsxDEV') || name.startsWith('jsx-dev-runtime')) {
        withDevelopmentCode.push(name);
      }
    }
    expect(withDevelopmentCode).toEqual([]);
  });
});
