/**
 * One API server: Apollo Server over HTTP (POST /graphql) and graphql-ws over WebSocket on the
 * same path, a health endpoint for Caddy and compose, and a graceful shutdown. Servers keep no
 * state of their own: any number of them can run side by side on one Redis.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  closeRedis,
  connectRedis,
  JobQueue,
  JobStore,
  JobUpdateRelay,
  modelRules,
  RedisKeys,
  WorkerHeartbeats,
  type Logger,
} from '@zeus/core';
import { defaultModelsDir, modelDir, TOKENIZER_DIR } from '@zeus/models';
import { typeDefs } from '@zeus/schema';
import express, { type NextFunction, type Request, type Response } from 'express';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { ServerConfig } from './config.ts';
import { formatApiError, formatWebSocketErrors } from './errors.ts';
import { PromptTokens } from './prompt-tokens.ts';
import { createResolvers, type ApiContext } from './resolvers.ts';

export const GRAPHQL_PATH = '/graphql';
export const HEALTH_PATH = '/healthz';

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
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: createResolvers({
      promptTokens: new PromptTokens({
        tokenizerDir: join(
          modelDir(config.ZEUS_MODELS_DIR ?? defaultModelsDir(), config.ZEUS_MODEL),
          TOKENIZER_DIR,
        ),
        logger,
      }),
      store,
      queue,
      relay,
      heartbeats: new WorkerHeartbeats(requests, keys),
      rules: modelRules(config.ZEUS_MODEL),
      logger,
    }),
  });

  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);

  const webSockets = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH });
  const webSocketServer = useServer<Record<string, unknown>, ApiContext>(
    {
      schema,
      context: {},
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (result.errors === undefined) return undefined;
        return {
          ...(result.data === undefined ? {} : { data: result.data }),
          errors: formatWebSocketErrors(result.errors, logger),
        };
      },
      onError: (_ctx, _id, _payload, errors) => formatWebSocketErrors(errors, logger),
    },
    webSockets,
  );

  let shuttingDown = false;
  const apollo = new ApolloServer<ApiContext>({
    schema,
    logger,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (close()): Apollo's own signal handlers would stop it behind our back.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatApiError(formatted, error, logger),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: config.ZEUS_SHUTDOWN_GRACE_MS,
      }),
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

  app.get(HEALTH_PATH, (_request, response) => {
    void health().then(({ ready, problems }) => {
      response.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', problems });
    });
  });
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: '64kb' }),
    expressMiddleware(apollo, { context: () => Promise.resolve({}) }),
  );
  app.use((_request, response) => {
    response
      .status(404)
      .json({ errors: [{ message: 'Not found.', extensions: { code: 'NOT_FOUND' } }] });
  });
  // Express's own error page shows the stack trace: answer malformed requests in GraphQL's shape.
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const status = httpStatusOf(error);
    if (status >= 500) logger.error({ err: error }, 'HTTP request failed');
    const message =
      status === 413
        ? 'The request body is too large.'
        : status < 500
          ? 'The request body is not valid JSON.'
          : 'Internal server error.';
    response.status(status).json({
      errors: [
        { message, extensions: { code: status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR' } },
      ],
    });
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
      problems.push(`redis: ${(error as Error).message}`);
    }
    return { ready: problems.length === 0, problems };
  }

  await listen(httpServer, config.ZEUS_API_PORT, config.ZEUS_API_HOST);
  const { port } = httpServer.address() as AddressInfo;
  logger.info({ port, host: config.ZEUS_API_HOST }, 'API server listening');

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
        await Promise.all([closeRedis(subscriber), queue.close()]);
        await closeRedis(requests);
      })();
      return closing;
    },
  };
}

/** The HTTP status body-parser and friends attach to their errors; 500 otherwise. */
function httpStatusOf(error: unknown): number {
  const status =
    typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
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
