/**
 * The rule for where tests live (docs/development/testing.md), enforced: every test file in the
 * repository is in exactly one of vitest's projects, the one its path names (tests/e2e/ and
 * tests/security/ → e2e,
 * *.int.test.ts → integration, any other *.test.ts → unit), and no file looks like a test that
 * vitest would never run (a *.spec.ts, a *.test.js, a tier misspelt in the name).
 */
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../deploy/local-stack.ts';

const run = promisify(execFile);

/** Anything named like a test, in any language vitest or another runner would pick up. */
const LOOKS_LIKE_A_TEST = /\.(test|spec)\.[cm]?[jt]sx?$/;
/** The names the rule allows: `name.test.ts(x)`, `name.int.test.ts(x)`. */
const ALLOWED_NAME = /^[^.]+(\.int)?\.test\.tsx?$/;

/** The project a test file belongs in by the rule, or why its name breaks the rule. */
function tierOf(path: string): 'unit' | 'integration' | 'e2e' | { readonly wrong: string } {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!ALLOWED_NAME.test(name)) {
    return { wrong: 'a test file is named name.test.ts, or name.int.test.ts for integration' };
  }
  if (path.startsWith('tests/e2e/') || path.startsWith('tests/security/')) {
    return name.endsWith('.int.test.ts') || name.endsWith('.int.test.tsx')
      ? { wrong: 'an e2e test in tests/e2e/ or tests/security/ is named name.test.ts' }
      : 'e2e';
  }
  return name.includes('.int.test.') ? 'integration' : 'unit';
}

describe('test tiers', () => {
  it('names each test file for one tier', () => {
    expect(tierOf('core/src/eta.test.ts')).toBe('unit');
    expect(tierOf('client/test/app.test.tsx')).toBe('unit');
    expect(tierOf('core/src/job-store.int.test.ts')).toBe('integration');
    expect(tierOf('tests/e2e/stack.test.ts')).toBe('e2e');
    expect(tierOf('tests/security/keyed-stack.test.ts')).toBe('e2e');
    for (const wrong of [
      'core/src/eta.spec.ts',
      'core/src/eta.test.js',
      'core/src/job-store.integration.test.ts',
      'core/src/stack.e2e.test.ts',
      'tests/e2e/stack.int.test.ts',
      'tests/security/keyed-stack.int.test.ts',
    ]) {
      expect(tierOf(wrong), wrong).toHaveProperty('wrong');
    }
  });

  it('puts every test file in the repository in exactly the project its path names', async () => {
    const { stdout: tracked } = await run(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard'],
      { cwd: REPOSITORY_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const testFiles = tracked
      .split('\n')
      .filter((path) => LOOKS_LIKE_A_TEST.test(path))
      .sort();
    // What vitest itself makes of the configuration (vitest.config.ts), without running a test.
    const { stdout: listed } = await run(
      'node_modules/.bin/vitest',
      ['list', '--filesOnly', '--json'],
      { cwd: REPOSITORY_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const projects = new Map<string, string[]>();
    for (const { file, projectName } of JSON.parse(listed) as {
      file: string;
      projectName?: string;
    }[]) {
      const path = relative(REPOSITORY_ROOT, file);
      projects.set(path, [...(projects.get(path) ?? []), projectName ?? '(none)']);
    }

    const misplaced: string[] = [];
    for (const path of testFiles) {
      const tier = tierOf(path);
      const found = projects.get(path) ?? [];
      if (typeof tier !== 'string') misplaced.push(`${path}: ${tier.wrong}`);
      else if (found.length !== 1 || found[0] !== tier) {
        misplaced.push(`${path}: in ${found.join(' and ') || 'no project'}, not ${tier}`);
      }
    }
    for (const path of projects.keys()) {
      if (!testFiles.includes(path)) misplaced.push(`${path}: run by vitest, but not a test file`);
    }
    expect(misplaced).toEqual([]);
    // The suite is all there: not a list that came out empty.
    expect(testFiles.length).toBeGreaterThan(100);
    expect(new Set([...projects.values()].flat())).toEqual(new Set(['unit', 'integration', 'e2e']));
  });
});
