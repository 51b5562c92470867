import { defineConfig } from 'vitest/config';
import { MODEL_FOLDER_GLOBS } from './models/src/folders.ts';

export default defineConfig({
  resolve: {
    // One graphql-js: its ES module build (vite's pick) and its CommonJS build (what Node gives
    // Apollo, graphql-ws and graphql-tools) would be two copies whose types fail `instanceof`
    // checks against each other, as they never are in production.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    // Model folders hold gigabytes of weights: not walked for test files.
    exclude: ['**/node_modules/**', '**/dist/**', ...MODEL_FOLDER_GLOBS],
    // Integration tests start real Redis, Caddy and ffmpeg processes: give them room,
    // but keep every test bounded.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run test files two at a time so servers started by tests are not starved.
    maxWorkers: 2,
    // The web app is built once, before any test file starts a stack that serves it.
    globalSetup: ['tests/global-setup.ts'],
  },
});
