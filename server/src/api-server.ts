/**
 * One API server: Apollo Server over HTTP (POST /graphql) and graphql-ws over WebSocket on the
 * same path (graphql-ws.ts), image uploads (upload-route.ts), a health endpoint for Caddy and compose, Prometheus metrics, and a graceful
 * shutdown. Servers keep no state of their own: any number of them can run side by side on one
 * Redis.
 *
 * Every request passes the same gates, over HTTP and WebSocket alike: its API key (auth.ts),
 * the WebSocket's Origin (origins.ts), size and shape limits (limits.ts), then the resolvers'
 * own checks (keys, ownership, input, rate limit).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { openOutputStore, OUTPUTS_PATH, type Logger } from '@zeus/core';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { specifiedRules } from 'graphql';
import { createApiServices } from './api-services.ts';
import type { Caller } from './auth.ts';
import { Callers, UNKNOWN_CALLER } from './caller.ts';
import type { ServerConfig } from './config.ts';
import { formatApiError, type ErrorFormatting } from './errors.ts';
import { graphqlWebSockets } from './graphql-ws.ts';
import { checkHealth, healthAnswer, HEALTH_PATH } from './health.ts';
import { requestErrorHandler, sendError } from './http-errors.ts';
import { limitError, limitRules, REQUEST_LIMITS } from './limits.ts';
import { createApiMetrics, routeLabel } from './metrics.ts';
import { outputsHandler } from './outputs-route.ts';
import type { ApiContext } from './resolvers.ts';
import { OperationDocuments } from './operation-documents.ts';
import { uploadRoute } from './upload-route.ts';
import { UPLOADS_PATH } from './uploads.ts';

export { SHUTDOWN_CLOSE_CODE } from './graphql-ws.ts';
export { HEALTH_PATH } from './health.ts';

export const GRAPHQL_PATH = '/graphql';
export const METRICS_PATH = '/metrics';

export interface ApiServer {
  readonly port: number;
  /**
   * Reports unhealthy for `ZEUS_DRAIN_DELAY_MS` while still serving, then closes WebSockets
   * (1012: clients reconnect, through the load balancer, to another server), lets open HTTP
   * requests finish, and disconnects from Redis.
   */
  close(): Promise<void>;
}

export async function startApiServer(config: ServerConfig, logger: Logger): Promise<ApiServer> {
  const services = createApiServices(config, logger);
  const { schema, store, heartbeats, rules, relay } = services;
  const callers = new Callers(config.ZEUS_API_KEYS, config.ZEUS_TRUSTED_PROXIES);
  const allowedOrigins = config.ZEUS_ALLOWED_ORIGINS;
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
    // Read when scraped, by which time the WebSocket server below exists.
    openWebSockets: () => webSockets.openCount,
  });
  const formatting: ErrorFormatting = {
    logger,
    introspection: config.ZEUS_INTROSPECTION,
    onError: (code) => {
      metrics.countError(code);
    },
  };

  const webSockets = graphqlWebSockets({
    path: GRAPHQL_PATH,
    schema,
    operationDocuments,
    callers,
    allowedOrigins,
    metrics,
    formatting,
    logger,
  });
  httpServer.on('upgrade', webSockets.handleUpgrade);

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
            drainServer: () => webSockets.close(),
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
  app.use(
    UPLOADS_PATH,
    ...uploadRoute({
      uploads: services.uploads,
      callers,
      limiter: services.uploadLimiter,
      maxBytes: config.ZEUS_MAX_UPLOAD_BYTES,
      allowedOrigins,
      formatting,
      logger,
    }),
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

async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
