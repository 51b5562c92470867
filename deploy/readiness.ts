/**
 * Whether the local stack's processes answer (local-stack.ts): an API server's health, the
 * `system` query through the front door, and the one polling loop that waits for them.
 */
import { fetchVia } from './endpoints.ts';

export async function isHealthy(address: string): Promise<boolean> {
  const response = await fetchVia(address, '/healthz');
  await response.body?.cancel();
  return response.ok;
}

/** The `system` query through the front door; null while it does not answer. */
export async function querySystem(
  graphqlUrl: string,
): Promise<{ workersOnline: number; modelReady: boolean } | null> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ system { workersOnline modelReady } }' }),
  });
  if (!response.ok) return null;
  const body = (await response.json()) as {
    data?: { system?: { workersOnline: number; modelReady: boolean } };
  };
  return body.data?.system ?? null;
}

export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

const POLL_INTERVAL_MS = 100;

/**
 * Polls `check` until it is true. Readiness of another process over HTTP has no event to wait
 * on, so this is the one place the stack polls; `failFast` ends the wait early with an error.
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  deadline: number,
  what: string,
  failFast: () => void,
): Promise<void> {
  for (;;) {
    let lastProblem: string;
    failFast();
    try {
      if (await check()) return;
      lastProblem = 'not ready';
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out waiting for ${what} (${lastProblem}).`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, POLL_INTERVAL_MS));
  }
}
