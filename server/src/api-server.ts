/**
 * One API server: GraphQL over HTTP (graphql-http.ts) and over WebSocket on the same path
 * (graphql-ws.ts), image uploads (upload-route.ts), a health endpoint for Caddy and compose
 * (health.ts), Prometheus metrics (metrics.ts), and a graceful shutdown. Servers keep no state of
 * their own: any number of them can run side by side on one Redis (api-services.ts).
 *
 * Every request passes the same gates, over HTTP and WebSocket alike: its API key (caller.ts),
 * the WebSocket's Origin (origins.ts), size and shape limits (limits.ts), then the resolvers'
 * own checks (keys, ownership, input, rate limit). This module only wires them together.
 */
import { createServer } from 'node:http';
import { boundAddress, listen, openOutputStore, type ListenAddress, type Logger } from '@zeus/core';
import { specifiedRules } from 'graphql';
import { createApiServices } from './api-services.ts';
import { Callers } from './caller.ts';
import type { ServerConfig } from './config.ts';
import type { ErrorFormatting } from './errors.ts';
import { GRAPHQL_PATH, graphqlRoute, startApollo } from './graphql-http.ts';
import { graphqlWebSockets } from './graphql-ws.ts';
import { checkHealth } from './health.ts';
import { httpApp } from './http-app.ts';
import { limitRules, REQUEST_LIMITS } from './limits.ts';
import { createApiMetrics } from './metrics.ts';
import { OperationDocuments } from './operation-documents.ts';
import { outputAccessGuard, outputAuthHandler } from './output-access.ts';
import { outputsHandler } from './outputs-route.ts';
import { uploadRoute } from './upload-route.ts';

export { GRAPHQL_PATH } from './graphql-http.ts';
export { SHUTDOWN_CLOSE_CODE } from './graphql-ws.ts';
export { HEALTH_PATH } from './health.ts';
export { METRICS_PATH } from './http-app.ts';

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

export async function startApiServer(config: ServerConfig, logger: Logger): Promise<ApiServer> {
  const services = createApiServices(config, logger);
  const { schema } = services;
  const onSocket = config.ZEUS_API_SOCKET !== undefined;
  const callers = new Callers(config.ZEUS_API_KEYS, config.ZEUS_TRUSTED_PROXIES, { onSocket });
  const validationRules = limitRules({ introspection: config.ZEUS_INTROSPECTION });
  const httpServer = createServer();
  const metrics = createApiMetrics({
    figures: () => services.figures(),
    openSubscriptions: () => services.relay.openCount,
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
    operationDocuments: new OperationDocuments({
      schema,
      rules: [...specifiedRules, ...validationRules],
      maxTokens: REQUEST_LIMITS.maxTokens,
    }),
    callers,
    allowedOrigins: config.ZEUS_ALLOWED_ORIGINS,
    metrics,
    formatting,
    logger,
  });
  httpServer.on('upgrade', webSockets.handleUpgrade);

  let shuttingDown = false;
  const apollo = await startApollo({
    schema,
    validationRules,
    introspection: config.ZEUS_INTROSPECTION,
    httpServer,
    shutdownGraceMs: config.ZEUS_SHUTDOWN_GRACE_MS,
    onDrain: () => webSockets.close(),
    metrics,
    formatting,
    logger,
  });
  // Outputs in a bucket: Caddy sends /generated/… here (with the local folder, it serves them).
  const outputs = config.ZEUS_STORAGE === 's3' ? await openOutputStore(config) : null;
  const allowedOrigins = config.ZEUS_ALLOWED_ORIGINS;
  httpServer.on(
    'request',
    httpApp({
      graphql: graphqlRoute({ apollo, callers, allowedOrigins }),
      uploads: uploadRoute({
        uploads: services.uploads,
        callers,
        limiter: services.uploadLimiter,
        maxBytes: config.ZEUS_MAX_UPLOAD_BYTES,
        allowedOrigins,
        formatting,
        logger,
      }),
      outputs:
        outputs === null
          ? null
          : [
              outputAccessGuard(services.outputs, callers),
              outputsHandler({ store: outputs, delivery: config.ZEUS_S3_DELIVERY, logger }),
            ],
      outputAuth: outputAuthHandler(services.outputs, callers),
      health: () => checkHealth({ redis: services.requests, shuttingDown: () => shuttingDown }),
      metrics,
      trustProxy: callers.trustProxy,
      healthClosesConnections: onSocket,
      logger,
    }),
  );

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
        await services.close();
        await outputs?.close();
      })();
      return closing;
    },
  };
}
