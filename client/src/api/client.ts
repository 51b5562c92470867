/**
 * The app's link to Zeus: queries and mutations over HTTP POST, subscriptions over one graphql-ws
 * WebSocket on the same `/graphql` path. The socket is opened at once and retried forever with a
 * short backoff; after a reconnect the queries on screen are refetched, and graphql-ws sends the
 * live subscriptions again, so progress bars resume where the jobs now are.
 */
import { ApolloClient, ApolloLink, HttpLink } from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Kind, OperationTypeNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { saysUnauthenticated, type ApiKeyStore } from './api-key.ts';
import { createCache } from './cache.ts';
import { ConnectionMonitor } from './connection.ts';

export interface ZeusClientOptions {
  /** `http(s)://host/graphql`. */
  readonly httpUrl: string;
  /** `ws(s)://host/graphql`. */
  readonly wsUrl: string;
  /** Milliseconds between keep-alive pings; a ping not answered within this time drops the socket. */
  readonly keepAliveMs?: number;
  /** The API key to send, for a Zeus run with `ZEUS_API_KEYS` (absent: none is ever sent). */
  readonly apiKeys?: ApiKeyStore;
  /** The `fetch` for queries and mutations (the page's: first-answers.ts; default `fetch`). */
  readonly fetch?: typeof fetch;
}

export interface ZeusClient {
  readonly apollo: ApolloClient;
  readonly connection: ConnectionMonitor;
  readonly ws: Client;
  dispose(): Promise<void>;
}

/** Close code for a socket whose pings went unanswered; not fatal to graphql-ws, so it retries. */
const PING_TIMEOUT_CLOSE_CODE = 4408;
/** graphql-ws's close code when Zeus refuses the connection: here, a wrong API key. */
const FORBIDDEN_CLOSE_CODE = 4403;

/** Backoff between reconnects: 0.5 s, 1 s, 2 s, then 4 s at most, plus up to 0.5 s of jitter. */
export function reconnectDelayMs(retries: number, random: () => number = Math.random): number {
  return Math.min(500 * 2 ** retries, 4_000) + Math.floor(random() * 500);
}

/** The URLs of the API on the page's own origin (through Caddy, or Vite's dev proxy). */
export function sameOriginUrls(location: Pick<Location, 'protocol' | 'host'>): {
  httpUrl: string;
  wsUrl: string;
} {
  const wsProtocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    httpUrl: `${location.protocol}//${location.host}/graphql`,
    wsUrl: `${wsProtocol}//${location.host}/graphql`,
  };
}

export function createZeusClient(options: ZeusClientOptions): ZeusClient {
  const connection = new ConnectionMonitor();
  const keepAliveMs = options.keepAliveMs ?? 10_000;
  const apiKeys = options.apiKeys ?? null;
  let activeSocket: WebSocket | null = null;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  // Set below; the `connected` listener only runs after the client exists.
  let apollo: ApolloClient | null = null;

  const ws = createClient({
    url: options.wsUrl,
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    // Every failure to connect is worth retrying: a restarting server refuses connections.
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(retries))),
    keepAlive: keepAliveMs,
    // Read at every (re)connection, so a key entered later is used from the next one.
    connectionParams: () => {
      const key = apiKeys?.key ?? null;
      return key === null ? {} : { apiKey: key };
    },
    onNonLazyError: () => {
      // Retries are unbounded, so only a fatal protocol error lands here; the banner stays up.
      connection.set('reconnecting');
    },
    on: {
      connected: (socket, _payload, wasRetry) => {
        activeSocket = socket as WebSocket;
        connection.set('connected');
        // Jobs may have moved on while the socket was down: bring what is on screen up to date.
        if (wasRetry && apollo !== null) void apollo.refetchObservableQueries();
      },
      closed: (event) => {
        const refused = (event as { code?: unknown } | null)?.code === FORBIDDEN_CLOSE_CODE;
        if (refused) apiKeys?.refusedByServer();
        activeSocket = null;
        clearTimeout(pongTimer);
        if (!disposed) connection.set(refused ? 'refused' : 'reconnecting');
      },
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => {
          if (activeSocket?.readyState === WebSocket.OPEN) {
            activeSocket.close(PING_TIMEOUT_CLOSE_CODE, 'Ping timeout');
          }
        }, keepAliveMs);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  const isSubscription = ({ query }: ApolloLink.Operation): boolean => {
    const definition = getMainDefinition(query);
    return (
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === OperationTypeNode.SUBSCRIPTION
    );
  };

  // The key on every HTTP request; an UNAUTHENTICATED answer (or 401) makes the app ask for one.
  const withKey = new SetContextLink((previous) => {
    const key = apiKeys?.key ?? null;
    if (key === null) return {};
    const headers = (previous['headers'] ?? {}) as Record<string, string>;
    return { headers: { ...headers, authorization: `Bearer ${key}` } };
  });
  const askForKey = new ErrorLink(({ error }) => {
    if (
      (CombinedGraphQLErrors.is(error) && saysUnauthenticated(error.errors)) ||
      (ServerError.is(error) && error.statusCode === 401)
    ) {
      apiKeys?.refusedByServer();
    }
  });

  apollo = new ApolloClient({
    cache: createCache(),
    link: ApolloLink.from([
      askForKey,
      ApolloLink.split(
        isSubscription,
        new GraphQLWsLink(ws),
        ApolloLink.from([
          withKey,
          new HttpLink({
            uri: options.httpUrl,
            ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
          }),
        ]),
      ),
    ]),
  });
  const client = apollo;
  // A key was entered: reconnect with it and ask again for everything on screen.
  const stopWatchingKey = apiKeys?.subscribe(() => {
    if (apiKeys.request !== null) return;
    ws.terminate();
    void client.refetchObservableQueries();
  });
  return {
    apollo: client,
    connection,
    ws,
    async dispose() {
      disposed = true;
      stopWatchingKey?.();
      clearTimeout(pongTimer);
      client.stop();
      await ws.dispose();
    },
  };
}
