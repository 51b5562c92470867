/**
 * Retries `attempt` until it resolves, for conditions in other processes that announce nothing
 * (a server reconnecting to Redis). Bounded: rejects with the last failure once an attempt that
 * began after `timeoutMs` has failed too, so a machine too busy to try again in time still gets
 * one more try, made after the deadline, before the condition is said never to have held.
 */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const began = Date.now();
    try {
      return await attempt();
    } catch (error) {
      if (began >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
