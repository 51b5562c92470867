/**
 * The folders model files live in when ZEUS_MODELS_DIR is unset: one per model in `models/`
 * (`models/<ZEUS_MODEL>/`), beside this workspace's own `src/` and `test/`, and `models/cache/`,
 * where an older Zeus kept them. The repository's tools leave them alone: ESLint and Vitest read
 * these globs; .gitignore, .prettierignore, tsconfig.json and .dockerignore say the same, and
 * tests/deploy/models-folder.int.test.ts checks all of them against the model names.
 *
 * Imports nothing: the tools' configuration files load it as it is.
 */

/** Folder names under `models/` that hold model files: the model names, and `cache`. */
export const MODEL_FOLDERS = ['ltxv-2b-0.9.6-distilled', 'tiny-random', 'cache'] as const;

/** Repository-relative globs matching everything in them. */
export const MODEL_FOLDER_GLOBS: readonly string[] = MODEL_FOLDERS.map(
  (name) => `models/${name}/**`,
);
