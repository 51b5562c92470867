/**
 * The web app's entry point: one Apollo client for the page, on the page's own origin, taking the
 * answers to the requests the boot script in index.html already sent (boot/main.ts).
 */
import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiKeyStore, browserKeyStorage } from './api/api-key.ts';
import { createZeusClient, sameOriginUrls } from './api/client.ts';
import { fetchWithFirstAnswers, firstAnswersArrived, sentRequestsOf } from './api/first-answers.ts';
import { ConnectionContext } from './api/hooks.ts';
import { prefetchFirstScreen } from './api/prefetch.ts';
import { AnnouncerProvider } from './components/Announcer.tsx';
import { ApiKeyContext } from './components/ApiKeyPrompt.tsx';
import { App } from './components/App.tsx';
import { routeOf } from './routing/routes.ts';
import './styles.css';

const apiKeys = new ApiKeyStore(browserKeyStorage());
const sent = sentRequestsOf(window);
const zeus = createZeusClient({
  ...sameOriginUrls(window.location),
  apiKeys,
  fetch: fetchWithFirstAnswers(sent),
});
const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');

const show = (): void => {
  createRoot(root).render(
    <StrictMode>
      <ApolloProvider client={zeus.apollo}>
        <ConnectionContext.Provider value={zeus.connection}>
          <ApiKeyContext.Provider value={apiKeys}>
            <AnnouncerProvider>
              <App />
            </AnnouncerProvider>
          </ApiKeyContext.Provider>
        </ConnectionContext.Provider>
      </ApolloProvider>
    </StrictMode>,
  );
};

const arrived = firstAnswersArrived(sent);
const firstScreen = prefetchFirstScreen(zeus.apollo, routeOf(window.location.pathname));
// With every first answer already here (the usual case: the boot script asked while this
// script loaded), the first render waits until Apollo has them in its cache, a few
// milliseconds, and shows the page whole; otherwise it shows what it can at once.
if (arrived) void firstScreen.then(show);
else show();
