/**
 * The tests, in three tiers (docs/development/testing.md). A test file's path says its tier:
 *
 *   - tests/e2e/**            e2e: the whole local stack, Chromium, the CLI against a stack;
 *     tests/security/**       and the attacks on it (issue 15's findings, each refused);
 *   - elsewhere *.int.test.ts integration: one subsystem for real (Redis, ffmpeg, ONNX Runtime,
 *                             a server in-process, a child process);
 *   - elsewhere *.test.ts(x)  unit: pure code, which may not start a process or a thread, use a
 *                             socket or run a model (tests/unit-guard.ts refuses).
 *
 * `npm run test:unit`, `test:integration` and `test:e2e` run one tier; `npm test` runs them all.
 * tests/tiers.int.test.ts fails for a test file that is in no tier or in two.
 */
import { defineConfig } from 'vitest/config';
import { MODEL_FOLDER_GLOBS } from './models/src/folders.ts';
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS } from './tests/helpers/limits.ts';

const TEST_FILES = ['**/*.test.ts', '**/*.test.tsx'];
const INTEGRATION_FILES = ['**/*.int.test.ts', '**/*.int.test.tsx'];
const E2E_DIRS = ['tests/e2e', 'tests/security'];
// Model folders hold gigabytes of weights: not walked for test files.
const NEVER = ['**/node_modules/**', '**/dist/**', ...MODEL_FOLDER_GLOBS];

export default defineConfig({
  resolve: {
    // One graphql-js: its ES module build (vite's pick) and its CommonJS build (what Node gives
    // Apollo, graphql-ws and graphql-tools) would be two copies whose types fail `instanceof`
    // checks against each other, as they never are in production.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    // Integration and e2e tests start real Redis, Caddy and ffmpeg processes: give them room,
    // but keep every test bounded.
    testTimeout: TEST_TIMEOUT_MS,
    hookTimeout: HOOK_TIMEOUT_MS,
    // Two cores: run test files two at a time so servers started by tests are not starved.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: TEST_FILES,
          exclude: [...NEVER, ...INTEGRATION_FILES, ...E2E_DIRS.map((dir) => `${dir}/**`)],
          setupFiles: ['tests/unit-guard.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION_FILES,
          exclude: [...NEVER, ...E2E_DIRS.map((dir) => `${dir}/**`)],
          // The web app is built once, before any test file starts a stack that serves it (and
          // before the test of the build itself).
          globalSetup: ['tests/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E_DIRS.flatMap((dir) => TEST_FILES.map((pattern) => `${dir}/${pattern}`)),
          exclude: NEVER,
          globalSetup: ['tests/global-setup.ts'],
        },
      },
    ],
  },
});
