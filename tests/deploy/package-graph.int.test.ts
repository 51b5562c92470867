/**
 * The package graph's rules (.dependency-cruiser.mjs, run by `npm run check`) refuse a forbidden
 * import. Each case builds a small tree in a temporary folder: workspaces with the repository's
 * own package.json files, linked under node_modules/@zeus as npm links them, and one source file
 * per workspace; dependency-cruiser then checks it with the repository's rules, as `npm run
 * check:deps` does. The control, a tree with only allowed imports, passes.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

const WORKSPACES = ['core', 'models', 'server'] as const;
const folders: string[] = [];

/** depcruise's result for a tree whose files are `sources` (path → text). */
function cruise(sources: Readonly<Record<string, string>>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'zeus-package-graph-'));
  folders.push(root);
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  copyFileSync(join(REPOSITORY_ROOT, 'package.json'), join(root, 'package.json'));
  write('tsconfig.json', JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true } }));
  mkdirSync(join(root, 'node_modules', '@zeus'), { recursive: true });
  for (const workspace of WORKSPACES) {
    mkdirSync(join(root, workspace, 'src'), { recursive: true });
    copyFileSync(
      join(REPOSITORY_ROOT, workspace, 'package.json'),
      join(root, workspace, 'package.json'),
    );
    symlinkSync(join(root, workspace), join(root, 'node_modules', '@zeus', workspace));
  }
  for (const [path, text] of Object.entries(sources)) write(path, text);
  const result = spawnSync(
    join(REPOSITORY_ROOT, 'node_modules', '.bin', 'depcruise'),
    [
      '--config',
      join(REPOSITORY_ROOT, '.dependency-cruiser.mjs'),
      '--output-type',
      'err',
      ...WORKSPACES,
      'tests',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return { status: result.status, out: result.stdout + result.stderr };
}

/** One index per workspace, each importing only what its layer allows. */
const ALLOWED: Readonly<Record<string, string>> = {
  'core/src/index.ts': 'export const core = 1;\n',
  'models/src/index.ts': "import { core } from '@zeus/core';\nexport const models = core + 1;\n",
  'server/src/index.ts':
    "import { core } from '@zeus/core';\nimport { models } from '@zeus/models';\nexport const server = core + models;\n",
  'tests/helpers/stack.ts':
    "import { server } from '@zeus/server';\nexport const stack = server;\n",
};

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('the package graph check', () => {
  it('passes a tree whose imports follow the layers (the control)', () => {
    const result = cruise(ALLOWED);
    expect(result.out).toContain('no dependency violations found');
    expect(result.status).toBe(0);
  });

  it('fails core importing @zeus/server, naming the rule and the file', () => {
    const result = cruise({
      ...ALLOWED,
      'core/src/uses-server.ts':
        "import { server } from '@zeus/server';\nexport const x = server;\n",
    });
    expect(result.status).not.toBe(0);
    expect(result.out).toMatch(
      /error core-layer: core\/src\/uses-server\.ts → server\/src\/index\.ts/,
    );
    expect(result.out).toContain('core-declares-its-zeus-imports');
  });

  it('fails production code importing the tests’ helpers', () => {
    const result = cruise({
      ...ALLOWED,
      'models/src/uses-tests.ts':
        "import { stack } from '../../tests/helpers/stack.ts';\nexport const y = stack;\n",
    });
    expect(result.status).not.toBe(0);
    expect(result.out).toMatch(
      /error no-test-code-in-production: models\/src\/uses-tests\.ts → tests\/helpers\/stack\.ts/,
    );
  });
});
