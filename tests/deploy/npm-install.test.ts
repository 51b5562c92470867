/**
 * `npm install` in a clone prints no warning: the project's npm settings are all npm's own, and
 * every dependency with an install script is reviewed in package.json's `allowScripts`
 * (onnxruntime-node's, which downloads the CUDA provider from a host development machines cannot
 * reach, denied). Read from the files npm reads, so a dependency update that breaks one of these
 * fails here, not on a user's machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

interface Manifest {
  readonly allowScripts?: Readonly<Record<string, boolean>>;
}

interface LockedPackage {
  readonly version?: string;
  readonly hasInstallScript?: boolean;
}

const manifest = JSON.parse(
  readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8'),
) as Manifest;
const lock = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package-lock.json'), 'utf8')) as {
  readonly packages: Readonly<Record<string, LockedPackage>>;
};

/** The locked packages (not the workspaces), by their name@version. */
function lockedPackages(): [string, LockedPackage][] {
  return Object.entries(lock.packages)
    .filter(([path]) => path.includes('node_modules/'))
    .map(([path, entry]) => [
      `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version ?? '?'}`,
      entry,
    ]);
}

describe('npm install', () => {
  it('reads only settings npm knows from .npmrc (no "Unknown project config" warning)', () => {
    const result = spawnSync('npm', ['config', 'get', 'fund'], {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('false');
  });

  it("never runs onnxruntime-node's download, and reviews every other install script", () => {
    const allowScripts = manifest.allowScripts ?? {};
    expect(allowScripts['onnxruntime-node']).toBe(false);
    const withScripts = lockedPackages()
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([id]) => id.slice(0, id.lastIndexOf('@')));
    expect(withScripts).toContain('onnxruntime-node');
    for (const name of withScripts) {
      expect(Object.keys(allowScripts), `allowScripts reviews ${name}`).toContain(name);
    }
  });
});
