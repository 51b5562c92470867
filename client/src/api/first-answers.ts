/**
 * The app's `fetch` for GraphQL: a request the boot script already sent (boot/main.ts) gets that
 * request's answer, once, instead of being sent again; anything else, or a request asked for
 * when that answer failed or is older than FIRST_ANSWER_MAX_AGE_MS, goes to the network. The
 * answer is a real `Response`, read by Apollo's HttpLink as any other, so errors, an
 * UNAUTHENTICATED answer and the cache work exactly as without it.
 */
import { keyOfBody, SENT_REQUESTS_GLOBAL, type SentRequest } from '../boot/first-requests.ts';

/**
 * How old an answer the boot script asked for may be when the app takes it. The app asks within
 * a second or so of the page opening; this only keeps an answer nobody asked for from being
 * handed out much later (a page that has moved on would otherwise see the state of its start).
 */
export const FIRST_ANSWER_MAX_AGE_MS = 10_000;

/** What the boot script left on `window` (nothing where it did not run). */
export function sentRequestsOf(page: object): readonly SentRequest[] {
  const sent = (page as Record<string, unknown>)[SENT_REQUESTS_GLOBAL];
  return Array.isArray(sent) ? (sent as SentRequest[]) : [];
}

/**
 * True when the boot script sent requests and every answer is already here: the first render
 * may then wait the few milliseconds Apollo takes to put them in its cache, and show the page
 * whole at once rather than a frame of "Loading…" first (one render and one layout, not two).
 */
export function firstAnswersArrived(sent: readonly SentRequest[]): boolean {
  return sent.length > 0 && sent.every((request) => request.done);
}

export function fetchWithFirstAnswers(
  sent: readonly SentRequest[],
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  now: () => number = () => performance.now(),
): typeof fetch {
  const waiting = new Map(sent.map((request) => [request.key, request]));
  return (input, init) => {
    if (waiting.size > 0) {
      const key = keyOfBody(init?.body, new Headers(init?.headers).get('authorization'));
      const request = key === null ? undefined : waiting.get(key);
      if (key !== null && request !== undefined) {
        waiting.delete(key);
        if (now() - request.sentAt <= FIRST_ANSWER_MAX_AGE_MS) {
          return request.response.catch(() => fetchImpl(input, init));
        }
      }
    }
    return fetchImpl(input, init);
  };
}
