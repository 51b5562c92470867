/** The web app's entry point: one Apollo client for the page, on the page's own origin. */
import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiKeyStore, browserKeyStorage } from './api/api-key.ts';
import { createZeusClient, sameOriginUrls } from './api/client.ts';
import { ConnectionContext } from './api/hooks.ts';
import { prefetchFirstScreen } from './api/prefetch.ts';
import { AnnouncerProvider } from './components/Announcer.tsx';
import { ApiKeyContext } from './components/ApiKeyPrompt.tsx';
import { App } from './components/App.tsx';
import { routeOf } from './routing/routes.ts';
import './styles.css';

const apiKeys = new ApiKeyStore(browserKeyStorage());
const zeus = createZeusClient({ ...sameOriginUrls(window.location), apiKeys });
prefetchFirstScreen(zeus.apollo, routeOf(window.location.pathname));
const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');

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
