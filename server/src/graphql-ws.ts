/**
 * GraphQL over WebSocket (graphql-ws, on the `ws` package) at `/graphql`: the upgrade's gates
 * (path, then the page's Origin: origins.ts), the caller's key from `connection_init`, the same
 * limits and validation as over HTTP (the cost with the variables sent: operation-cost.ts), one
 * parse and validation per query text (operation-documents.ts), and subscribers of one job
 * sharing each update's execution (shared-subscriptions.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@zeus/core';
import { getOperationAST, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Caller } from './auth.ts';
import { UNKNOWN_CALLER, type Callers } from './caller.ts';
import { formatWebSocketErrors, type ErrorFormatting } from './errors.ts';
import { limitError, REQUEST_LIMITS } from './limits.ts';
import type { ApiMetrics } from './metrics.ts';
import { costLimitError, operationCost } from './operation-cost.ts';
import type { OperationDocuments } from './operation-documents.ts';
import { isAllowedWebSocketOrigin } from './origins.ts';
import type { ApiContext } from './resolvers.ts';
import { sharedSubscribe } from './shared-subscriptions.ts';

/** Close code for WebSockets on shutdown: "service restart", which clients retry. */
export const SHUTDOWN_CLOSE_CODE = 1012;

export interface GraphqlWebSocketsOptions {
  /** The one path WebSockets are served at. */
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly operationDocuments: OperationDocuments;
  readonly callers: Callers;
  /** `ZEUS_ALLOWED_ORIGINS`: foreign pages that may open a WebSocket. */
  readonly allowedOrigins: readonly string[];
  readonly metrics: Pick<ApiMetrics, 'countOperation'>;
  readonly formatting: ErrorFormatting;
  readonly logger: Logger;
}

export interface GraphqlWebSockets {
  /** For the HTTP server's `upgrade` event. */
  readonly handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** WebSockets open now. */
  readonly openCount: number;
  /** Closes every WebSocket with 1012 (clients reconnect elsewhere) and stops graphql-ws. */
  close(): Promise<void>;
}

/** What graphql-ws keeps per connection besides its own: who connected. */
type ConnectionExtra = { caller?: Caller } & Record<PropertyKey, unknown>;

export function graphqlWebSockets(options: GraphqlWebSocketsOptions): GraphqlWebSockets {
  const { path, schema, operationDocuments, callers, metrics, formatting, logger } = options;
  const webSockets = new WebSocketServer({
    noServer: true,
    // A larger message closes the socket with 1009 (message too big).
    maxPayload: REQUEST_LIMITS.maxBodyBytes,
  });
  const server = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      schema,
      // Subscribers of one job asking the same thing share each update's execution.
      subscribe: sharedSubscribe({ sharingKey: subscriptionSharingKey }),
      onConnect: (ctx) => {
        const check = callers.ofWebSocket(ctx.connectionParams, ctx.extra.request);
        if (!check.ok) {
          // graphql-ws closes with 4403 Forbidden; clients retry, with the key they have then.
          logger.info(
            { client: callers.address(ctx.extra.request) },
            'WebSocket with a bad API key',
          );
          return false;
        }
        ctx.extra.caller = check.caller;
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        // graphql-ws has already counted this one in.
        if (Object.keys(ctx.subscriptions).length > REQUEST_LIMITS.maxSubscriptionsPerSocket) {
          return [limitError('maxSubscriptionsPerSocket', null)];
        }
        // Parsed and validated once per query text: subscribers share the document.
        const checked = operationDocuments.get(payload.query);
        if (!checked.ok) return checked.errors;
        const { document } = checked;
        // Security (issue 15): the cost with the variables sent, as over HTTP.
        const cost = operationCost(schema, document, payload.operationName, payload.variables);
        if (cost !== null && cost > REQUEST_LIMITS.maxCost) return [costLimitError(cost)];
        const operation = getOperationAST(document, payload.operationName);
        if (operation != null) metrics.countOperation(operation.operation, 'websocket');
        const contextValue: ApiContext = { caller: ctx.extra.caller ?? UNKNOWN_CALLER };
        const args: ExecutionArgs = {
          schema,
          document,
          contextValue,
          ...(payload.operationName == null ? {} : { operationName: payload.operationName }),
          ...(payload.variables == null ? {} : { variableValues: payload.variables }),
        };
        return args;
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (result.errors === undefined) return undefined;
        return {
          ...(result.data === undefined ? {} : { data: result.data }),
          errors: formatWebSocketErrors(result.errors, formatting),
        };
      },
      onError: (_ctx, _id, _payload, errors) => formatWebSocketErrors(errors, formatting),
    },
    webSockets,
  );

  return {
    handleUpgrade: (request, socket, head) => {
      const requestPath = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (requestPath !== path) {
        refuseUpgrade(socket, 404, 'NOT_FOUND', `WebSockets are served at ${path} only.`);
        return;
      }
      const origin = request.headers.origin;
      if (!isAllowedWebSocketOrigin(origin, request.headers.host, options.allowedOrigins)) {
        logger.warn(
          { origin, client: callers.address(request) },
          'WebSocket from a foreign origin',
        );
        refuseUpgrade(
          socket,
          403,
          'FORBIDDEN',
          `Pages from ${origin ?? 'this origin'} may not open a WebSocket to this Zeus ` +
            '(only its own pages and ZEUS_ALLOWED_ORIGINS may).',
        );
        return;
      }
      webSockets.handleUpgrade(request, socket, head, (webSocket) => {
        webSockets.emit('connection', webSocket, request);
      });
    },
    get openCount() {
      return webSockets.clients.size;
    },
    close: async () => {
      for (const socket of webSockets.clients) {
        socket.close(SHUTDOWN_CLOSE_CODE, 'Server restarting');
      }
      await server.dispose();
    },
  };
}

/**
 * What a subscription's results depend on besides the event: the query, operation and variables,
 * and the API key (resolvers check access by key; the caller's address only goes to logs).
 */
export function subscriptionSharingKey(args: ExecutionArgs): string | null {
  const query = args.document.loc?.source.body;
  if (query === undefined) return null;
  const { caller } = args.contextValue as ApiContext;
  return JSON.stringify([
    query,
    args.operationName ?? null,
    args.variableValues ?? null,
    caller.keyName,
  ]);
}

/** Ends a WebSocket upgrade with an HTTP error in GraphQL's shape. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const reason = status === 403 ? 'Forbidden' : 'Not Found';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
