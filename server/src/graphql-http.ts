/**
 * GraphQL over HTTP at `/graphql`: Apollo Server behind the gates every request passes, in this
 * order: CORS for the configured origins, the API key, a JSON content type, the body's size and
 * JSON (body-parser), the batch size; then Apollo (CSRF prevention, the limits' validation rules,
 * the cost limit with the variables sent, one budget per request: operation-cost.ts, masked
 * errors: errors.ts).
 */
import type { Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type { Logger } from '@zeus/core';
import cors from 'cors';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { Caller } from './auth.ts';
import { UNKNOWN_CALLER, type Callers } from './caller.ts';
import { formatApiError, type ErrorFormatting } from './errors.ts';
import { sendError } from './http-errors.ts';
import { limitError, REQUEST_LIMITS } from './limits.ts';
import type { ApiMetrics } from './metrics.ts';
import { costLimitPlugin } from './operation-cost.ts';
import type { ApiContext } from './resolvers.ts';

export const GRAPHQL_PATH = '/graphql';

export interface ApolloOptions {
  readonly schema: GraphQLSchema;
  readonly validationRules: readonly ValidationRule[];
  /** `ZEUS_INTROSPECTION`. */
  readonly introspection: boolean;
  /** The HTTP server, for Apollo's drain on stop. */
  readonly httpServer: Server;
  /** `ZEUS_SHUTDOWN_GRACE_MS`: how long open requests get to finish on stop. */
  readonly shutdownGraceMs: number;
  /** Stopped with the server, before open HTTP requests are drained. */
  readonly onDrain: () => Promise<void>;
  readonly metrics: Pick<ApiMetrics, 'countOperation'>;
  readonly formatting: ErrorFormatting;
  readonly logger: Logger;
}

/** Apollo Server, started. `stop()` drains WebSockets (`onDrain`) and then HTTP requests. */
export async function startApollo(options: ApolloOptions): Promise<ApolloServer<ApiContext>> {
  const { metrics, formatting } = options;
  const countOperations: ApolloServerPlugin<ApiContext> = {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: ({ operation }) => {
          if (operation !== undefined) metrics.countOperation(operation.operation, 'http');
          return Promise.resolve();
        },
      }),
  };
  const drainOnStop: ApolloServerPlugin<ApiContext> = {
    serverWillStart: () => Promise.resolve({ drainServer: options.onDrain }),
  };
  const apollo = new ApolloServer<ApiContext>({
    schema: options.schema,
    logger: options.logger,
    includeStacktraceInErrorResponses: false,
    // GET and form posts need a header only scripts can set: no cross-site request forgery.
    csrfPrevention: true,
    // Explicit, so NODE_ENV does not decide it (Apollo turns it off in production by default).
    introspection: options.introspection,
    allowBatchedHttpRequests: true,
    validationRules: [...options.validationRules],
    parseOptions: { maxLexicalTokens: REQUEST_LIMITS.maxTokens },
    // Shutdown is ours (close()): Apollo's own signal handlers would stop it behind our back.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatApiError(formatted, error, formatting),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({
        httpServer: options.httpServer,
        stopGracePeriodMillis: options.shutdownGraceMs,
      }),
      // Security (issue 15): the cost limit with the variables sent, one budget per request
      // (the caller object is made once per HTTP request; a batch's operations share it).
      costLimitPlugin<ApiContext>(options.schema, (context) => context.caller),
      countOperations,
      drainOnStop,
    ],
  });
  await apollo.start();
  return apollo;
}

export interface GraphqlRouteOptions {
  readonly apollo: ApolloServer<ApiContext>;
  readonly callers: Callers;
  /** `ZEUS_ALLOWED_ORIGINS`: foreign pages that may call the API (CORS). */
  readonly allowedOrigins: readonly string[];
}

/** The handlers of `/graphql`, in the order requests pass them. */
export function graphqlRoute(options: GraphqlRouteOptions): RequestHandler[] {
  const callers = new WeakMap<Request, Caller>();
  return [
    // CORS headers only for the configured origins; the same origin needs none.
    cors({
      origin: options.allowedOrigins.length === 0 ? false : [...options.allowedOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'apollo-require-preflight'],
      maxAge: 600,
    }),
    (request: Request, response: Response, next: NextFunction) => {
      const check = options.callers.ofHttpRequest(request);
      if (!check.ok) {
        sendError(response, 401, 'UNAUTHENTICATED', check.message);
        return;
      }
      callers.set(request, check.caller);
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
    expressMiddleware(options.apollo, {
      context: ({ req }) => Promise.resolve({ caller: callers.get(req) ?? UNKNOWN_CALLER }),
    }),
  ];
}
