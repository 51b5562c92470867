/**
 * The boot script: bundled on its own and inlined in index.html (boot-script.ts), so it runs as
 * soon as the page's head is parsed, long before the app's 140 KB of scripts have arrived and
 * been compiled. It sends the first screen's GraphQL requests (first-requests.ts) with the API
 * key the app would send, leaves them on `window` for the app to take, and as soon as the
 * list's (or the job's) answer comes, starts loading the posters it names: by the time React
 * renders the cards, their data is there and their pictures are in the browser's memory cache.
 * About 1 KB; it must not import the app's libraries.
 */
import { browserKeyStorage, storedApiKey } from '../api/api-key.ts';
import { routeOf } from '../routing/routes.ts';
import {
  bodyOf,
  firstRequestsFor,
  GRAPHQL_ACCEPT,
  postersOf,
  requestKey,
  SENT_REQUESTS_GLOBAL,
  type FirstScreen,
  type OperationText,
  type SentRequest,
} from './first-requests.ts';

/** Replaced at build time with the operations, printed from api/first-screen.ts (boot-script.ts). */
declare const __ZEUS_FIRST_SCREEN__: FirstScreen<OperationText>;

/** Where the preloaded posters stay referenced, so the app's cards find them in memory. */
const POSTERS_GLOBAL = 'zeusFirstPosters';
const posters: HTMLImageElement[] = [];

function preload(url: string): void {
  const image = new Image();
  image.fetchPriority = 'high';
  image.src = url;
  posters.push(image);
}

function start(): void {
  const key = storedApiKey(browserKeyStorage());
  const authorization = key === null ? null : `Bearer ${key}`;
  const headers: Record<string, string> = {
    accept: GRAPHQL_ACCEPT,
    'content-type': 'application/json',
  };
  if (authorization !== null) headers['authorization'] = authorization;
  const route = routeOf(window.location.pathname);
  const sent: SentRequest[] = firstRequestsFor(route, __ZEUS_FIRST_SCREEN__).map(
    (request, index) => {
      const response = fetch('/graphql', {
        method: 'POST',
        headers,
        body: bodyOf(request),
      });
      // The first request names the pictures: read a copy of its answer (the app reads the
      // answer itself), before anyone else can.
      if (index === 0 && route.page !== 'not-found') {
        response
          .then((answer) => (answer.ok ? answer.clone().json() : null))
          .then((answer: unknown) => {
            postersOf(answer).forEach(preload);
          })
          .catch(() => undefined);
      }
      const entry: SentRequest = {
        key: requestKey(request, authorization),
        sentAt: performance.now(),
        response,
        done: false,
      };
      // Done once the whole body is here (read from a copy). A failed request is the app's to
      // handle: it asks again (first-answers.ts).
      response
        .then((answer) => answer.clone().arrayBuffer())
        .catch(() => undefined)
        .finally(() => {
          entry.done = true;
        });
      return entry;
    },
  );
  const page = window as unknown as Record<string, unknown>;
  page[SENT_REQUESTS_GLOBAL] = sent;
  page[POSTERS_GLOBAL] = posters;
}

try {
  start();
} catch {
  // Nothing sent: the app asks for everything itself, as it would without this script.
}
