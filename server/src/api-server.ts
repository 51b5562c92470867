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
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  boundAddress,
  closeRedis,
  connectRedis,
  JobQueue,
  JobStore,
  JobTimingsStore,
  JobUpdateRelay,
  modelRules,
  openOutputStore,
  listen,
  OUTPUTS_PATH,
  redisAddress,
  RedisKeys,
  RedisRateLimiter,
  UploadStore,
  WorkerHeartbeats,
  ZeusError,
  type ListenAddress,
  type Logger,
} from '@zeus/core';
import { defaultModelsDir, modelDir, TOKENIZER_DIR } from '@zeus/models';
import { typeDefs } from '@zeus/schema';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { getOperationAST, specifiedRules, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import proxyAddr from 'proxy-addr';
import { WebSocketServer } from 'ws';
import {
  checkKey,
  requireKey,
  keyFromConnectionParams,
  keyFromHeaders,
  rateLimitKey,
  type Caller,
} from './auth.ts';
import type { ServerConfig } from './config.ts';
import { formatApiError, formatWebSocketErrors, type ErrorFormatting } from './errors.ts';
import { limitError, limitRules, REQUEST_LIMITS } from './limits.ts';
import { costLimitError, costLimitPlugin, operationCost } from './operation-cost.ts';
import { createApiMetrics, routeLabel } from './metrics.ts';
import { isAllowedWebSocketOrigin } from './origins.ts';
import { JobEstimates } from './job-estimates.ts';
import { JobService } from './job-service.ts';
import { PromptTokens } from './prompt-tokens.ts';
import { outputsHandler } from './outputs-route.ts';
import { createResolvers, type ApiContext } from './resolvers.ts';
import { OperationDocuments } from './operation-documents.ts';
import { sharedSubscribe } from './shared-subscriptions.ts';
import {
  acceptUpload,
  BodyTooLargeError,
  declaredType,
  FirstFrames,
  readBody,
  UPLOAD_CONTENT_TYPES,
  UPLOADS_PATH,
} from './uploads.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';

export const GRAPHQL_PATH = '/graphql';
export const HEALTH_PATH = '/healthz';
export const METRICS_PATH = '/metrics';

/** Close code for WebSockets on shutdown: "service restart", which clients retry. */
export const SHUTDOWN_CLOSE_CODE = 1012;

export interface ApiServer {
  /** Its socket, or its host and port (the one the system chose for port 0). */
  readonly address: ListenAddress;
  /**
   * Reports unhealthy for `ZEUS_DRAIN_DELAY_MS` while still serving, then closes WebSockets
   * (1012: clients reconnect, through the load balancer, to another server), lets open HTTP
   * requests finish, and disconnects from Redis.
   */
  close(): Promise<void>;
}

/** What graphql-ws keeps per connection besides its own: who connected. */
type ConnectionExtra = { caller?: Caller } & Record<PropertyKey, unknown>;

/** An HTTP error in GraphQL's response shape, with a stable code. */
function sendError(response: Response, status: number, code: string, message: string): void {
  response.status(status).json({ errors: [{ message, extensions: { code } }] });
}

export async function startApiServer(config: ServerConfig, logger: Logger): Promise<ApiServer> {
  const keys = new RedisKeys(config.ZEUS_REDIS_PREFIX);
  const requests = connectRedis(config.REDIS_URL, { name: 'zeus-api', role: 'requests' });
  const subscriber = connectRedis(config.REDIS_URL, {
    name: 'zeus-api-subscriber',
    role: 'background',
  });
  for (const connection of [requests, subscriber]) {
    // ioredis reconnects by itself; without a listener each failure would be an uncaught error.
    connection.on('error', (error: Error) => {
      logger.warn({ err: error.message }, 'Redis connection error');
    });
  }
  const store = new JobStore(requests, keys, { maxQueued: config.ZEUS_MAX_QUEUED });
  const queue = new JobQueue(requests, keys);
  const relay = new JobUpdateRelay(subscriber, requests, keys, store);
  const heartbeats = new WorkerHeartbeats(requests, keys);
  const rules = modelRules(config.ZEUS_MODEL);
  const uploads = new UploadStore(requests, keys, {
    ttlSeconds: config.ZEUS_UPLOAD_TTL_SECONDS,
    quota: {
      perCallerBytes: config.ZEUS_UPLOAD_QUOTA_BYTES,
      totalBytes: config.ZEUS_UPLOAD_TOTAL_BYTES,
    },
  });
  const jobs = new JobService({
    firstFrames: new FirstFrames(uploads),
    promptTokens: new PromptTokens({
      tokenizerDir: join(
        modelDir(config.ZEUS_MODELS_DIR ?? defaultModelsDir(), config.ZEUS_MODEL),
        TOKENIZER_DIR,
      ),
      logger,
    }),
    store,
    queue,
    rules,
    logger,
    apiKeys: config.ZEUS_API_KEYS,
    keyPriorities: config.ZEUS_KEY_PRIORITIES,
    submitLimiter:
      config.ZEUS_RATE_LIMIT === null
        ? null
        : new RedisRateLimiter(requests, keys, {
            name: 'submit',
            what: 'submissions',
            limit: config.ZEUS_RATE_LIMIT,
          }),
    maxBatch: config.ZEUS_MAX_BATCH,
    webhooks: {
      enabled: config.ZEUS_WEBHOOK_SECRET !== undefined,
      allowPrivate: config.ZEUS_WEBHOOK_ALLOW_PRIVATE,
    },
  });
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: createResolvers({
      store,
      relay,
      heartbeats,
      rules,
      logger,
      jobs,
      estimates: new JobEstimates(store, heartbeats, new JobTimingsStore(requests, keys), rules),
      apiKeys: config.ZEUS_API_KEYS,
      retentionMs: config.ZEUS_RETENTION,
      maxBatch: config.ZEUS_MAX_BATCH,
      uploads: {
        maxBytes: config.ZEUS_MAX_UPLOAD_BYTES,
        ttlSeconds: config.ZEUS_UPLOAD_TTL_SECONDS,
      },
    }),
  });
  // Webhooks: sent by every server, each event once (webhook-dispatcher.ts).
  const webhookConnections =
    config.ZEUS_WEBHOOK_SECRET === undefined
      ? null
      : {
          consumer: connectRedis(config.REDIS_URL, {
            name: 'zeus-api-webhooks',
            role: 'background',
          }),
          subscriber: connectRedis(config.REDIS_URL, {
            name: 'zeus-api-webhook-events',
            role: 'background',
          }),
        };
  const webhooks =
    config.ZEUS_WEBHOOK_SECRET === undefined || webhookConnections === null
      ? null
      : new WebhookDispatcher({
          store,
          keys,
          queueConnection: requests,
          consumerConnection: webhookConnections.consumer,
          subscriber: webhookConnections.subscriber,
          secret: config.ZEUS_WEBHOOK_SECRET,
          allowPrivate: config.ZEUS_WEBHOOK_ALLOW_PRIVATE,
          attempts: config.ZEUS_WEBHOOK_ATTEMPTS,
          backoffMs: config.ZEUS_WEBHOOK_BACKOFF_MS,
          timeoutMs: config.ZEUS_WEBHOOK_TIMEOUT_MS,
          logger,
        });
  for (const connection of Object.values(webhookConnections ?? {})) {
    connection.on('error', (error: Error) => {
      logger.warn({ err: error.message }, 'Redis connection error');
    });
  }
  // Not awaited: a server starts (and answers its health check) while Redis is still away.
  webhooks?.start().catch((error: unknown) => {
    logger.error({ err: error }, 'webhook delivery could not start');
  });
  const validationRules = limitRules({ introspection: config.ZEUS_INTROSPECTION });
  const operationDocuments = new OperationDocuments({
    schema,
    rules: [...specifiedRules, ...validationRules],
    maxTokens: REQUEST_LIMITS.maxTokens,
  });
  const trustedProxies = proxyAddr.compile(config.ZEUS_TRUSTED_PROXIES);
  // On a Unix socket the peer has no address, and only local processes allowed to open the
  // socket file (Caddy, in local mode) can connect: it is trusted like a listed proxy.
  const trustProxy: (address: string, hop: number) => boolean =
    config.ZEUS_API_SOCKET === undefined
      ? trustedProxies
      : (address, hop) => hop === 0 || trustedProxies(address, hop);

  const app = express();
  app.disable('x-powered-by');
  // The client's address (for rate limits and logs) is read from X-Forwarded-For only when the
  // request comes from a trusted proxy (Caddy); anyone else's header is ignored.
  app.set('trust proxy', trustProxy);
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
        const presented =
          keyFromConnectionParams(ctx.connectionParams) ??
          keyFromHeaders(ctx.extra.request.headers);
        const check = checkKey(config.ZEUS_API_KEYS, presented);
        if (!check.ok) {
          // graphql-ws closes with 4403 Forbidden; clients retry, with the key they have then.
          logger.info({ client: clientAddress(ctx.extra.request) }, 'WebSocket with a bad API key');
          return false;
        }
        ctx.extra.caller = { keyName: check.keyName, address: clientAddress(ctx.extra.request) };
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
        // Security (issue 15): the cost with the variables sent.
        const cost = operationCost(schema, document, payload.operationName, payload.variables);
        if (cost !== null && cost > REQUEST_LIMITS.maxCost) return [costLimitError(cost)];
        const operation = getOperationAST(document, payload.operationName);
        if (operation != null) metrics.countOperation(operation.operation, 'websocket');
        const contextValue: ApiContext = {
          caller: ctx.extra.caller ?? { keyName: null, address: 'unknown' },
        };
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
      logger.warn({ origin, client: clientAddress(request) }, 'WebSocket from a foreign origin');
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

  function clientAddress(request: IncomingMessage): string {
    // Undefined, whatever its type says, for a request on a Unix socket without X-Forwarded-For.
    const address: unknown = proxyAddr(request, trustProxy);
    return typeof address === 'string' ? address : 'unknown';
  }

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
      // Security (issue 15): the cost limit with the variables sent, one budget per request
      // (the caller object is made once per HTTP request; a batch's operations share it).
      costLimitPlugin<ApiContext>(schema, (context) => context.caller),
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
    // Caddy 2.6 sends its health checks of Unix socket upstreams all to "localhost" and keeps
    // the connections open for reuse, so a check meant for one server can reach another, and a
    // draining server is never left out. A connection closed after each answer is never reused.
    if (config.ZEUS_API_SOCKET !== undefined) response.set('connection', 'close');
    void health().then(({ ready, problems }) => {
      response.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', problems });
    });
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

  const callers = new WeakMap<Request, Caller>();
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
      const check = checkKey(config.ZEUS_API_KEYS, keyFromHeaders(request.headers));
      if (!check.ok) {
        sendError(response, 401, 'UNAUTHENTICATED', check.message);
        return;
      }
      callers.set(request, { keyName: check.keyName, address: request.ip ?? 'unknown' });
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
      context: ({ req }) =>
        Promise.resolve({ caller: callers.get(req) ?? { keyName: null, address: 'unknown' } }),
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
  const uploadLimiter =
    config.ZEUS_RATE_LIMIT === null
      ? null
      : new RedisRateLimiter(requests, keys, {
          name: 'upload',
          what: 'uploads',
          limit: config.ZEUS_RATE_LIMIT,
        });
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
      // Security (issue 15): with keys on, an upload needs one.
      const check = requireKey(config.ZEUS_API_KEYS, keyFromHeaders(request.headers));
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
      const caller: Caller = { keyName: check.keyName, address: request.ip ?? 'unknown' };
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
            uploads,
            body,
            config.ZEUS_MAX_UPLOAD_BYTES,
            check.keyName,
            rateLimitKey(caller),
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
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const status = httpStatusOf(error);
    if (status >= 500) {
      logger.error({ err: error }, 'HTTP request failed');
      sendError(response, status, 'INTERNAL_SERVER_ERROR', 'Internal server error.');
    } else if (status === 413) {
      const tooLarge = limitError('maxBodyBytes', null);
      sendError(response, 413, 'PAYLOAD_TOO_LARGE', tooLarge.message);
    } else if (status === 415) {
      sendError(
        response,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send the JSON body as UTF-8, without compression.',
      );
    } else {
      sendError(
        response,
        status,
        'BAD_REQUEST',
        `The request body is not valid JSON${jsonProblem(error)}. Send {"query": "…", "variables": {…}}.`,
      );
    }
  });

  /** Ready when Redis answers and the server is not shutting down; otherwise says what is not. */
  async function health(): Promise<{ ready: boolean; problems: string[] }> {
    const problems: string[] = [];
    if (shuttingDown) problems.push('shutting down');
    try {
      await Promise.race([
        requests.ping(),
        new Promise((_resolve, reject) => {
          setTimeout(() => {
            reject(new Error('no answer within 1 s'));
          }, 1_000).unref();
        }),
      ]);
    } catch (error) {
      // Where, and the connection's state, before ioredis's own words (which name its options).
      problems.push(
        `redis: no answer from ${redisAddress(requests)} ` +
          `(connection ${requests.status}): ${(error as Error).message}`,
      );
    }
    return { ready: problems.length === 0, problems };
  }

  await listen(
    httpServer,
    config.ZEUS_API_SOCKET === undefined
      ? { host: config.ZEUS_API_HOST, port: config.ZEUS_API_PORT }
      : { socket: config.ZEUS_API_SOCKET },
  );
  const address = boundAddress(httpServer);
  logger.info(
    {
      ...address,
      apiKeys: config.ZEUS_API_KEYS.enabled,
      rateLimit: config.ZEUS_RATE_LIMIT,
      introspection: config.ZEUS_INTROSPECTION,
    },
    'API server listening',
  );

  let closing: Promise<void> | null = null;
  return {
    address,
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        if (config.ZEUS_DRAIN_DELAY_MS > 0) {
          await new Promise((resolve) => setTimeout(resolve, config.ZEUS_DRAIN_DELAY_MS));
        }
        await apollo.stop();
        await webhooks?.close();
        await Promise.all([
          closeRedis(subscriber),
          queue.close(),
          ...Object.values(webhookConnections ?? {}).map(closeRedis),
        ]);
        await closeRedis(requests);
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

/** body-parser's description of a JSON syntax error (no paths in it), as " (…)". */
function jsonProblem(error: unknown): string {
  const type =
    typeof error === 'object' && error !== null && 'type' in error ? error.type : undefined;
  if (type !== 'entity.parse.failed' || !(error instanceof SyntaxError)) return '';
  return ` (${error.message.slice(0, 200)})`;
}

/** The HTTP status body-parser and friends attach to their errors; 500 otherwise. */
function httpStatusOf(error: unknown): number {
  const status =
    typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
