/**
 * One API server: Apollo Server over HTTP (POST /graphql) and graphql-ws over WebSocket on the
 * same path, a health endpoint for Caddy and compose, Prometheus metrics, and a graceful
 * shutdown. Servers keep no state of their own: any number of them can run side by side on one
 * Redis.
 *
 * Every request passes the same gates, over HTTP and WebSocket alike: its API key (auth.ts),
 * the WebSocket's Origin (origins.ts), size and shape limits (limits.ts), then the resolvers'
 * own checks (keys, ownership, input, rate limit).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { openOutputStore, OUTPUTS_PATH, ZeusError, type Logger } from '@zeus/core';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { getOperationAST, specifiedRules, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createApiServices } from './api-services.ts';
import { rateLimitKey, type Caller } from './auth.ts';
import { Callers, UNKNOWN_CALLER } from './caller.ts';
import type { ServerConfig } from './config.ts';
import { formatApiError, formatWebSocketErrors, type ErrorFormatting } from './errors.ts';
import { checkHealth, healthAnswer, HEALTH_PATH } from './health.ts';
import { requestErrorHandler, sendError } from './http-errors.ts';
import { limitError, limitRules, REQUEST_LIMITS } from './limits.ts';
import { createApiMetrics, routeLabel } from './metrics.ts';
import { isAllowedWebSocketOrigin } from './origins.ts';
import { outputsHandler } from './outputs-route.ts';
import type { ApiContext } from './resolvers.ts';
import { OperationDocuments } from './operation-documents.ts';
import { sharedSubscribe } from './shared-subscriptions.ts';
import {
  acceptUpload,
  BodyTooLargeError,
  declaredType,
  readBody,
  UPLOAD_CONTENT_TYPES,
  UPLOADS_PATH,
} from './uploads.ts';

export { HEALTH_PATH } from './health.ts';

export const GRAPHQL_PATH = '/graphql';
export const METRICS_PATH = '/metrics';

/** Close code for WebSockets on shutdown: "service restart", which clients retry. */
export const SHUTDOWN_CLOSE_CODE = 1012;

export interface ApiServer {
  readonly port: number;
  /**
   * Reports unhealthy for `ZEUS_DRAIN_DELAY_MS` while still serving, then closes WebSockets
   * (1012: clients reconnect, through the load balancer, to another server), lets open HTTP
   * requests finish, and disconnects from Redis.
   */
  close(): Promise<void>;
}

/** What graphql-ws keeps per connection besides its own: who connected. */
type ConnectionExtra = { caller?: Caller } & Record<PropertyKey, unknown>;

export async function startApiServer(config: ServerConfig, logger: Logger): Promise<ApiServer> {
  const services = createApiServices(config, logger);
  const { schema, store, heartbeats, rules, relay } = services;
  const callers = new Callers(config.ZEUS_API_KEYS, config.ZEUS_TRUSTED_PROXIES);
  const validationRules = limitRules({ introspection: config.ZEUS_INTROSPECTION });
  const operationDocuments = new OperationDocuments({
    schema,
    rules: [...specifiedRules, ...validationRules],
    maxTokens: REQUEST_LIMITS.maxTokens,
  });

  const app = express();
  app.disable('x-powered-by');
  // The client's address (for rate limits and logs) is read from X-Forwarded-For only when the
  // request comes from a trusted proxy (Caddy); anyone else's header is ignored.
  app.set('trust proxy', callers.trustProxy);
  const httpServer = createServer(app);
  const webSockets = new WebSocketServer({
    noServer: true,
    // A larger message closes the socket with 1009 (message too big).
    maxPayload: REQUEST_LIMITS.maxBodyBytes,
  });

  const metrics = createApiMetrics({
    figures: async () => {
      const [counts, workers] = await Promise.all([store.counts(), heartbeats.online()]);
      return {
        ...counts,
        maxQueued: store.maxQueued,
        workersOnline: workers.length,
        workersReady: workers.filter((w) => w.modelReady && w.model === rules.model).length,
      };
    },
    openSubscriptions: () => relay.openCount,
    openWebSockets: () => webSockets.clients.size,
  });
  const formatting: ErrorFormatting = {
    logger,
    introspection: config.ZEUS_INTROSPECTION,
    onError: (code) => {
      metrics.countError(code);
    },
  };

  const webSocketServer = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
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

  const allowedOrigins = config.ZEUS_ALLOWED_ORIGINS;
  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== GRAPHQL_PATH) {
      refuseUpgrade(socket, 404, 'NOT_FOUND', `WebSockets are served at ${GRAPHQL_PATH} only.`);
      return;
    }
    const origin = request.headers.origin;
    if (!isAllowedWebSocketOrigin(origin, request.headers.host, allowedOrigins)) {
      logger.warn({ origin, client: callers.address(request) }, 'WebSocket from a foreign origin');
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
  });

  let shuttingDown = false;
  const apollo = new ApolloServer<ApiContext>({
    schema,
    logger,
    includeStacktraceInErrorResponses: false,
    // GET and form posts need a header only scripts can set: no cross-site request forgery.
    csrfPrevention: true,
    // Explicit, so NODE_ENV does not decide it (Apollo turns it off in production by default).
    introspection: config.ZEUS_INTROSPECTION,
    allowBatchedHttpRequests: true,
    validationRules,
    parseOptions: { maxLexicalTokens: REQUEST_LIMITS.maxTokens },
    // Shutdown is ours (close()): Apollo's own signal handlers would stop it behind our back.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatApiError(formatted, error, formatting),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: config.ZEUS_SHUTDOWN_GRACE_MS,
      }),
      {
        requestDidStart: () =>
          Promise.resolve({
            didResolveOperation: ({ operation }) => {
              if (operation !== undefined) metrics.countOperation(operation.operation, 'http');
              return Promise.resolve();
            },
          }),
      },
      {
        serverWillStart: () =>
          Promise.resolve({
            drainServer: async () => {
              for (const socket of webSockets.clients) {
                socket.close(SHUTDOWN_CLOSE_CODE, 'Server restarting');
              }
              await webSocketServer.dispose();
            },
          }),
      },
    ],
  });
  await apollo.start();

  app.use((request, response, next) => {
    const stop = metrics.startHttpTimer(request.method);
    // The path as sent: routers strip their mount path from request.path while they run.
    const path = new URL(request.originalUrl, 'http://localhost').pathname;
    response.once('finish', () => {
      stop({ route: routeLabel(path), status: response.statusCode });
    });
    next();
  });
  app.get(HEALTH_PATH, (_request, response) => {
    void checkHealth({ redis: services.requests, shuttingDown: () => shuttingDown }).then(
      (health) => {
        const answer = healthAnswer(health);
        response.status(answer.status).json(answer.body);
      },
    );
  });
  app.get(METRICS_PATH, (_request, response) => {
    void metrics.registry.metrics().then(
      (text) => {
        response.type(metrics.registry.contentType).send(text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'could not collect metrics');
        response.status(500).type('text/plain').send('Could not collect metrics.\n');
      },
    );
  });

  const httpCallers = new WeakMap<Request, Caller>();
  app.use(
    GRAPHQL_PATH,
    // CORS headers only for the configured origins; the same origin needs none.
    cors({
      origin: allowedOrigins.length === 0 ? false : [...allowedOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'apollo-require-preflight'],
      maxAge: 600,
    }),
    (request: Request, response: Response, next: NextFunction) => {
      const check = callers.ofHttpRequest(request);
      if (!check.ok) {
        sendError(response, 401, 'UNAUTHENTICATED', check.message);
        return;
      }
      httpCallers.set(request, check.caller);
      next();
    },
    (request: Request, response: Response, next: NextFunction) => {
      if (request.method === 'POST' && !request.is('application/json')) {
        sendError(
          response,
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'Send GraphQL requests as JSON, with the header "Content-Type: application/json".',
        );
        return;
      }
      next();
    },
    express.json({ limit: REQUEST_LIMITS.maxBodyBytes }),
    (request: Request, response: Response, next: NextFunction) => {
      const body: unknown = request.body;
      if (Array.isArray(body) && body.length > REQUEST_LIMITS.maxBatch) {
        const error = limitError('maxBatch', body.length);
        sendError(response, 400, 'BATCH_TOO_LARGE', error.message);
        return;
      }
      next();
    },
    expressMiddleware(apollo, {
      context: ({ req }) => Promise.resolve({ caller: httpCallers.get(req) ?? UNKNOWN_CALLER }),
    }),
  );
  // Outputs in a bucket: Caddy sends /generated/… here (with the local folder, it serves them).
  const outputs = config.ZEUS_STORAGE === 's3' ? await openOutputStore(config) : null;
  if (outputs !== null) {
    app.get(
      `${OUTPUTS_PATH}/:jobId/:name`,
      outputsHandler({ store: outputs, delivery: config.ZEUS_S3_DELIVERY, logger }),
    );
  }
  // First-frame images (image-to-video): raw bytes with an image content type (uploads.ts).
  const uploadLimiter = services.uploadLimiter;
  const UPLOAD_STATUS: Readonly<Record<string, number>> = {
    BAD_USER_INPUT: 400,
    UNAUTHENTICATED: 401,
    PAYLOAD_TOO_LARGE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    RATE_LIMITED: 429,
    SERVICE_UNAVAILABLE: 503,
  };
  app.use(
    UPLOADS_PATH,
    cors({
      origin: allowedOrigins.length === 0 ? false : [...allowedOrigins],
      methods: ['POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key'],
      maxAge: 600,
    }),
    (request: Request, response: Response) => {
      const fail = (error: unknown): void => {
        const formatted = formatApiError({ message: 'Upload failed.' }, error, formatting);
        const code = formatted.extensions?.['code'];
        response
          .status(typeof code === 'string' ? (UPLOAD_STATUS[code] ?? 500) : 500)
          .json({ errors: [formatted] });
      };
      if (request.method !== 'POST') {
        response.setHeader('Allow', 'POST');
        sendError(response, 405, 'BAD_REQUEST', `Upload an image with POST ${UPLOADS_PATH}.`);
        return;
      }
      const check = callers.ofHttpRequest(request);
      if (!check.ok) {
        sendError(response, 401, 'UNAUTHENTICATED', check.message);
        return;
      }
      if (!UPLOAD_CONTENT_TYPES.includes(declaredType(request))) {
        // Forms (multipart, urlencoded, text/plain) are refused: see uploads.ts on forgery.
        sendError(
          response,
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          `Send the image file itself as the body, with "Content-Type: " one of ` +
            `${UPLOAD_CONTENT_TYPES.join(', ')} (form uploads are not accepted).`,
        );
        return;
      }
      const { caller } = check;
      void (async () => {
        try {
          await uploadLimiter?.consume(rateLimitKey(caller));
          const body = await readBody(request, config.ZEUS_MAX_UPLOAD_BYTES).catch(
            (error: unknown) => {
              if (!(error instanceof BodyTooLargeError)) throw error;
              throw new ZeusError(
                'PAYLOAD_TOO_LARGE',
                `The image is larger than ${config.ZEUS_MAX_UPLOAD_BYTES} bytes, the most ` +
                  'Zeus accepts (ZEUS_MAX_UPLOAD_BYTES).',
                {
                  details: {
                    field: 'image',
                    rule: 'maxBytes',
                    limit: config.ZEUS_MAX_UPLOAD_BYTES,
                  },
                },
              );
            },
          );
          const upload = await acceptUpload(
            services.uploads,
            body,
            config.ZEUS_MAX_UPLOAD_BYTES,
            caller.keyName,
          );
          logger.info(
            {
              uploadId: upload.id,
              type: upload.type,
              bytes: upload.bytes,
              keyName: caller.keyName,
              client: caller.address,
            },
            'image uploaded',
          );
          response.status(201).json(upload);
        } catch (error) {
          // A refused body is left unread: close the connection rather than drain it.
          if (!request.complete) response.setHeader('Connection', 'close');
          fail(error);
        }
      })();
    },
  );
  app.use((_request, response) => {
    sendError(response, 404, 'NOT_FOUND', 'Not found.');
  });
  // Express's own error page shows the stack trace: answer malformed requests in GraphQL's shape.
  app.use(requestErrorHandler(logger));

  await listen(httpServer, config.ZEUS_API_PORT, config.ZEUS_API_HOST);
  const { port } = httpServer.address() as AddressInfo;
  logger.info(
    {
      port,
      host: config.ZEUS_API_HOST,
      apiKeys: config.ZEUS_API_KEYS.enabled,
      rateLimit: config.ZEUS_RATE_LIMIT,
      introspection: config.ZEUS_INTROSPECTION,
    },
    'API server listening',
  );

  let closing: Promise<void> | null = null;
  return {
    port,
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        if (config.ZEUS_DRAIN_DELAY_MS > 0) {
          await new Promise((resolve) => setTimeout(resolve, config.ZEUS_DRAIN_DELAY_MS));
        }
        await apollo.stop();
        await services.close();
        await outputs?.close();
      })();
      return closing;
    },
  };
}

/**
 * What a subscription's results depend on besides the event: the query, operation and variables,
 * and the API key (resolvers check access by key; the caller's address only goes to logs).
 */
function subscriptionSharingKey(args: ExecutionArgs): string | null {
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

async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
