/**
 * The default models folder is `models/`, the @zeus/models workspace's own folder: each model's
 * files go to `models/<model>/` beside its `src/` and `test/`. Model names never clash with the
 * workspace, and every tool that walks the repository leaves the model folders (gigabytes of
 * weights) alone while still seeing the workspace's sources: git, Prettier, ESLint, TypeScript,
 * Vitest and the Docker build context.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MODEL_NAMES } from '@zeus/core/model-rules';
import { defaultModelsDir, legacyModelsDir, modelDir, modelsDirFromEnv } from '@zeus/models';
import { MODEL_FOLDER_GLOBS, MODEL_FOLDERS } from '@zeus/models/folders';
import { ESLint } from 'eslint';
import { getFileInfo } from 'prettier';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import vitestConfig from '../../vitest.config.ts';

/** Files of a model folder as the store writes them (a few of each kind). */
const MODEL_FILES = [
  'checkpoint/weights.safetensors',
  'text_encoder/config.json',
  'tokenizer/tokenizer_config.json',
  'onnx/transformer.onnx',
  '.zeus-files.json',
  'notes.ts',
];

/** The workspace's files, tracked by git: `models/package.json`, `models/src/…`, `models/test/…`. */
function workspaceFiles(): string[] {
  const listed = spawnSync('git', ['ls-files', '--', 'models'], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
  });
  expect(listed.status).toBe(0);
  return listed.stdout.split('\n').filter((line) => line !== '');
}

/** Repository-relative paths git ignores among `paths`. */
function ignoredByGit(paths: readonly string[]): string[] {
  const result = spawnSync('git', ['check-ignore', '--no-index', '--stdin'], {
    cwd: REPOSITORY_ROOT,
    input: paths.join('\n'),
    encoding: 'utf8',
  });
  expect(result.status === 0 || result.status === 1, result.stderr).toBe(true);
  return result.stdout.split('\n').filter((line) => line !== '');
}

const inModelFolders = MODEL_FOLDERS.flatMap((name) =>
  MODEL_FILES.map((file) => `models/${name}/${file}`),
);

describe('the models folder', () => {
  it('is models/ by default, each model in its own folder', () => {
    expect(defaultModelsDir()).toBe(join(REPOSITORY_ROOT, 'models'));
    expect(modelsDirFromEnv({})).toBe(join(REPOSITORY_ROOT, 'models'));
    expect(modelDir(defaultModelsDir(), 'ltxv-2b-0.9.6-distilled')).toBe(
      join(REPOSITORY_ROOT, 'models', 'ltxv-2b-0.9.6-distilled'),
    );
    expect(legacyModelsDir()).toBe(join(REPOSITORY_ROOT, 'models', 'cache'));
    expect(MODEL_FOLDERS).toEqual([...MODEL_NAMES, 'cache']);
  });

  it('holds model folders whose names no workspace file or folder has', () => {
    const taken = new Set([
      ...workspaceFiles().map((path) => path.split('/')[1] ?? ''),
      // What npm and builds may add to a workspace.
      'node_modules',
      'dist',
      'package-lock.json',
    ]);
    expect(taken).toContain('src');
    expect(taken).toContain('package.json');
    for (const name of MODEL_NAMES) {
      expect(name).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
      expect(taken.has(name), `models/${name} is the workspace's`).toBe(false);
    }
  });

  it('is ignored by git in the model folders only', () => {
    expect(ignoredByGit(inModelFolders)).toEqual(inModelFolders);
    // Every source of the workspace, and any new one, is seen.
    const sources = [...workspaceFiles(), 'models/src/new-module.ts', 'models/test/new.test.ts'];
    expect(ignoredByGit(sources)).toEqual([]);
  });

  it('is ignored by Prettier in the model folders only', async () => {
    const ignorePath = [
      join(REPOSITORY_ROOT, '.gitignore'),
      join(REPOSITORY_ROOT, '.prettierignore'),
    ];
    const ignored = async (path: string) =>
      (await getFileInfo(join(REPOSITORY_ROOT, path), { ignorePath })).ignored;
    for (const path of MODEL_FOLDERS.map((name) => `models/${name}/text_encoder/config.json`)) {
      expect(await ignored(path), path).toBe(true);
    }
    for (const path of ['models/package.json', 'models/src/store/model-files.ts']) {
      expect(await ignored(path), path).toBe(false);
    }
  });

  it('is ignored by ESLint in the model folders only', async () => {
    const eslint = new ESLint({ cwd: REPOSITORY_ROOT });
    for (const name of MODEL_FOLDERS) {
      expect(await eslint.isPathIgnored(join(REPOSITORY_ROOT, 'models', name, 'notes.ts'))).toBe(
        true,
      );
    }
    expect(
      await eslint.isPathIgnored(join(REPOSITORY_ROOT, 'models/src/store/model-files.ts')),
    ).toBe(false);
  });

  it('is left out of Vitest’s search for test files, in every tier', () => {
    const tiers = (vitestConfig.test?.projects ?? []).map((project) =>
      typeof project === 'object' && 'test' in project ? project.test : undefined,
    );
    expect(tiers.map((tier) => tier?.name)).toEqual(['unit', 'integration', 'e2e']);
    for (const tier of tiers) {
      expect(tier?.exclude).toEqual(expect.arrayContaining([...MODEL_FOLDER_GLOBS]));
    }
  });

  describe('TypeScript (tsconfig.json, on a copy of the layout)', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'zeus-models-folder-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('compiles the workspace’s sources and nothing in the model folders', async () => {
      const read = ts.readConfigFile(join(REPOSITORY_ROOT, 'tsconfig.json'), (path) =>
        ts.sys.readFile(path),
      );
      const { include, exclude } = read.config as { include: string[]; exclude: string[] };
      const files = ['models/src/store.ts', 'models/test/store.test.ts', ...inModelFolders];
      for (const file of files) {
        await mkdir(dirname(join(dir, file)), { recursive: true });
        await writeFile(join(dir, file), '');
      }
      const parsed = ts.parseJsonConfigFileContent({ include, exclude }, ts.sys, dir);
      const compiled = parsed.fileNames.map((file) => file.slice(dir.length + 1)).sort();
      expect(compiled).toEqual(['models/src/store.ts', 'models/test/store.test.ts']);
    });
  });

  it('stays out of the Docker build context, but for the workspace', () => {
    const lines = readFileSync(join(REPOSITORY_ROOT, '.dockerignore'), 'utf8').split('\n');
    const models = lines.filter((line) => /^!?models\//.test(line));
    // Everything in models/, whatever its name, then the workspace's manifest and sources.
    expect(models).toEqual(['models/*', '!models/package.json', '!models/src']);
  });
});
