/**
 * Runs once before any test file: builds the web app and the playground into client/dist when
 * the sources changed since the last build. Every local stack a test starts has Caddy serve that
 * folder, so building it here, before test files run side by side, means no test ever sees it
 * half-written by another test's build (Vite empties the folder first).
 */
import { ensureClientBuilt } from '@zeus/client/build';

export default async function setup(): Promise<void> {
  await ensureClientBuilt();
}
