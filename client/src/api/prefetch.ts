/**
 * Asks for the first screen's data as soon as the app's script runs, before React has rendered
 * anything: the list's first page or the job a `/jobs/<id>` link names, and what the header and
 * form need. Each takes the answer the boot script already asked for (first-answers.ts), so the
 * answers are in Apollo's cache by the first render or soon after, and the components find them
 * there or join the request in flight (Apollo deduplicates equal queries). Failures are left to
 * the components, which ask again and show them.
 */
import type { ApolloClient } from '@apollo/client';
import { firstRequestsFor } from '../boot/first-requests.ts';
import type { Route } from '../routing/routes.ts';
import { FIRST_SCREEN_DOCUMENTS } from './first-screen.ts';

/** Asks; the promise settles when every answer is in the cache (or has failed). */
export async function prefetchFirstScreen(apollo: ApolloClient, route: Route): Promise<void> {
  await Promise.allSettled(
    firstRequestsFor(route, FIRST_SCREEN_DOCUMENTS).map(({ operation, variables }) =>
      apollo.query({ query: operation, variables }),
    ),
  );
}
