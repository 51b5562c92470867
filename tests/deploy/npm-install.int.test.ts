/**
 * `npm install` in a clone prints no warning: the project's npm settings are all npm's own, every
 * dependency with an install script is reviewed in package.json's `allowScripts` (onnxruntime-node's,
 * which downloads the CUDA provider from a host development machines cannot reach, denied), and
 * every Node.js version `engines` accepts satisfies every locked package's `engines` (no
 * EBADENGINE). Read from the files npm reads, so a dependency update that breaks one of these
 * fails here, not on a user's machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

interface Manifest {
  readonly engines?: { readonly node?: string };
  readonly allowScripts?: Readonly<Record<string, boolean>>;
}

interface LockedPackage {
  readonly version?: string;
  /** An object; a few old packages have an array, which npm does not check. */
  readonly engines?: { readonly node?: string } | readonly string[];
  readonly hasInstallScript?: boolean;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
}

const manifest = JSON.parse(
  readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8'),
) as Manifest;
const lock = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package-lock.json'), 'utf8')) as {
  readonly packages: Readonly<Record<string, LockedPackage>>;
};

/** Whether npm installs a package on this platform (`os`, `cpu`; a leading `!` excludes). */
function fitsHere(entry: LockedPackage): boolean {
  const fits = (list: readonly string[] | undefined, value: string): boolean =>
    list === undefined ||
    ((list.includes(value) || list.every((item) => item.startsWith('!'))) &&
      !list.includes(`!${value}`));
  return fits(entry.os, process.platform) && fits(entry.cpu, process.arch);
}

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

  it('accepts only Node.js versions every locked package supports (no EBADENGINE)', () => {
    const supported = manifest.engines?.node ?? '';
    expect(semver.validRange(supported)).not.toBeNull();
    // This machine's version is one of them, and end-of-life lines older than 20 are not.
    expect(semver.satisfies(process.versions.node, supported)).toBe(true);
    expect(semver.intersects(supported, '<20.19.0')).toBe(false);
    const conflicts: string[] = [];
    // Packages for other platforms (sharp's binaries, esbuild's…) are not installed here.
    for (const [id, entry] of lockedPackages().filter(([, entry]) => fitsHere(entry))) {
      const needs = Array.isArray(entry.engines)
        ? undefined
        : (entry.engines as Manifest['engines'])?.node;
      if (needs === undefined) continue;
      if (!semver.subset(supported, needs, { includePrerelease: false })) {
        conflicts.push(`${id} needs node ${needs}`);
      }
    }
    expect(conflicts).toEqual([]);
  });
});
