import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';
import { MODEL_FOLDER_GLOBS } from './models/src/folders.ts';

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'generated/**',
      '.zeus/**',
      ...MODEL_FOLDER_GLOBS,
    ],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // dependency-cruiser's configuration is plain JavaScript, outside the TypeScript project.
    files: ['.dependency-cruiser.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The web app: the Rules of React (hooks, and the React Compiler's checks).
    files: ['client/**/*.ts', 'client/**/*.tsx'],
    extends: [reactHooks.configs.flat.recommended],
  },
  {
    // The CLI's bin is a JavaScript shim that loads tsx before the TypeScript sources.
    files: ['cli/bin/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The workers' Kubernetes probe: plain JavaScript that `node` runs alone in the worker image.
    files: ['deploy/kustomize/**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Tests index into arrays they have just checked; `!` keeps them readable.
    files: ['**/*.test.ts', '**/*.test.tsx', 'tests/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
