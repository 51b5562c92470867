/**
 * Asks for the first screen's data as soon as the app's script runs, before React has rendered
 * anything: the list's first page, or the job a `/jobs/<id>` link names. The components then
 * find the answer in Apollo's cache, or join the request in flight (Apollo deduplicates equal
 * queries), so the request starts a render earlier, which on a busy phone or machine is
 * hundreds of milliseconds. Failures are left to the components, which ask again and show them.
 */
import type { ApolloClient } from '@apollo/client';
import type { Route } from '../routing/routes.ts';
import { HISTORY_PAGE_SIZE } from './hooks.ts';
import { JOB_QUERY, JOBS_QUERY } from './operations.ts';

export function prefetchFirstScreen(apollo: ApolloClient, route: Route): void {
  const request =
    route.page === 'home'
      ? apollo.query({ query: JOBS_QUERY, variables: { first: HISTORY_PAGE_SIZE } })
      : route.page === 'job'
        ? apollo.query({ query: JOB_QUERY, variables: { id: route.id } })
        : null;
  request?.catch(() => undefined);
}
