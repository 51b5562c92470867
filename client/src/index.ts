/**
 * The web app's pure parts, for other packages and tests: what a job's progress says, and the
 * settings form's rules. The app itself is built by Vite from `index.html`.
 */
export * from './jobs/progress.ts';
export * from './jobs/readiness.ts';
export * from './jobs/settings-form.ts';
export type * from './api/operations.ts';
export type * from './api/workers.ts';
export * from './workers/describe.ts';
