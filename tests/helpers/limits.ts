/**
 * Vitest's limits for every test and every hook (vitest.config.ts). They end a test that hangs;
 * no test asserts them, and nothing a test waits for gets a shorter deadline of its own.
 */
export const TEST_TIMEOUT_MS = 60_000;
export const HOOK_TIMEOUT_MS = 120_000;

/**
 * How long a test's stack may take to be ready (with the tiny model converted): all of its hook's
 * limit but the time to stop what started, so a start that hangs fails with the stack's own
 * message and leaves nothing running, and a busy machine's slow start is not cut short first.
 */
export const STACK_READY_MS = HOOK_TIMEOUT_MS - 15_000;
