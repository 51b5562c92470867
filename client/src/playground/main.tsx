/**
 * The GraphQL playground: GraphiQL bundled with the app (no CDN), talking to `/graphql` on this
 * origin, with subscriptions over graphql-ws on the same path. Caddy serves this page to browsers
 * that open `/graphql`. `?query=…` (and `&variables=…`) opens with that operation instead.
 * The API key the web app keeps in this browser (Zeus with `ZEUS_API_KEYS`) is sent too.
 */
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createClient } from 'graphql-ws';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiKeyStore, browserKeyStorage } from '../api/api-key.ts';
import { reconnectDelayMs, sameOriginUrls } from '../api/client.ts';
import { BROWSE, SUBMIT_AND_WATCH, SUBMIT_AND_WATCH_VARIABLES } from './examples.ts';

const { httpUrl, wsUrl } = sameOriginUrls(window.location);
const apiKey = new ApiKeyStore(browserKeyStorage()).key;
const wsClient = createClient({
  url: wsUrl,
  connectionParams: apiKey === null ? {} : { apiKey },
  retryAttempts: 20,
  shouldRetry: () => true,
  retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(retries))),
});
const fetcher = createGraphiQLFetcher({
  url: httpUrl,
  wsClient,
  ...(apiKey === null ? {} : { headers: { authorization: `Bearer ${apiKey}` } }),
});

const params = new URLSearchParams(window.location.search);
const query = params.get('query');
const variables = params.get('variables');
const examples = [
  { query: SUBMIT_AND_WATCH, variables: SUBMIT_AND_WATCH_VARIABLES },
  { query: BROWSE, variables: null },
];
// GraphiQL opens its first tab's query but not its variables, and keeps tabs in localStorage:
// hand it the example's variables only on a first visit, so later visits reopen as they were.
const firstVisit = window.localStorage.getItem('graphiql:tabState') === null;
const opening =
  query === null
    ? firstVisit
      ? { initialVariables: SUBMIT_AND_WATCH_VARIABLES }
      : {}
    : { initialQuery: query, ...(variables === null ? {} : { initialVariables: variables }) };
const tabs = query === null ? examples : [{ query, variables }, ...examples];

const root = document.getElementById('playground');
if (root === null) throw new Error('playground.html has no #playground element');

createRoot(root).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={tabs}
      {...opening}
      defaultEditorToolsVisibility="variables"
      schemaDescription
    >
      <GraphiQL.Logo>Zeus</GraphiQL.Logo>
    </GraphiQL>
  </StrictMode>,
);
