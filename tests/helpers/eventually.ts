/**
 * Retries `attempt` until it resolves, for conditions in other processes that announce nothing
 * (a server reconnecting to Redis). Bounded: rejects with the last failure after `timeoutMs`.
 */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
