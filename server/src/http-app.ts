/**
 * The API server's HTTP routes, in the order a request meets them: every request timed for
 * metrics; `/healthz` and `/metrics`; GraphQL at `/graphql`; whether an output may be served
 * (`/output-auth`, asked by Caddy); outputs at `/generated/…` when they live in a bucket; first-frame uploads at `/uploads`; anything else a 404; errors before a
 * route could answer (malformed bodies) in GraphQL's shape.
 */
import { OUTPUTS_PATH, type Logger } from '@zeus/core';
import express, { type Express, type RequestHandler } from 'express';
import { GRAPHQL_PATH } from './graphql-http.ts';
import { healthAnswer, HEALTH_PATH, type Health } from './health.ts';
import { requestErrorHandler, sendError } from './http-errors.ts';
import { OUTPUT_AUTH_PATH } from './output-access.ts';
import { routeLabel, type ApiMetrics } from './metrics.ts';
import { UPLOADS_PATH } from './uploads.ts';

export const METRICS_PATH = '/metrics';

export interface HttpRoutes {
  readonly graphql: readonly RequestHandler[];
  readonly uploads: readonly RequestHandler[];
  /** `GET /generated/:jobId/:name`, when outputs are in a bucket (after its access check). */
  readonly outputs: readonly RequestHandler[] | null;
  /** Caddy's `forward_auth` for outputs it serves from the folder (output-access.ts). */
  readonly outputAuth: RequestHandler;
  readonly health: () => Promise<Health>;
  readonly metrics: Pick<ApiMetrics, 'registry' | 'startHttpTimer'>;
  /**
   * Addresses whose X-Forwarded-For is believed (Express's `trust proxy`), for what Express
   * itself reads of the client's address.
   */
  readonly trustProxy: (address: string, hop: number) => boolean;
  /**
   * Close the connection after each health answer: on a Unix socket (`ZEUS_API_SOCKET`), Caddy
   * 2.6 sends its health checks of every upstream to "localhost" and keeps the connections open
   * for reuse, so a check meant for one server could reach another, and a draining server would
   * never be left out. A connection closed after each answer is never reused.
   */
  readonly healthClosesConnections: boolean;
  readonly logger: Logger;
}

export function httpApp(routes: HttpRoutes): Express {
  const { metrics, logger } = routes;
  const app = express();
  app.disable('x-powered-by');
  // The client's address (for rate limits and logs) is read from X-Forwarded-For only when the
  // request comes from a trusted proxy (Caddy); anyone else's header is ignored.
  app.set('trust proxy', routes.trustProxy);

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
    if (routes.healthClosesConnections) response.set('connection', 'close');
    void routes.health().then((health) => {
      const answer = healthAnswer(health);
      response.status(answer.status).json(answer.body);
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
  app.use(GRAPHQL_PATH, ...routes.graphql);
  // Outputs in a bucket: Caddy sends /generated/… here (with the local folder, it serves them).
  app.get(OUTPUT_AUTH_PATH, routes.outputAuth);
  if (routes.outputs !== null) app.get(`${OUTPUTS_PATH}/:jobId/:name`, ...routes.outputs);
  app.use(UPLOADS_PATH, ...routes.uploads);
  app.use((_request, response) => {
    sendError(response, 404, 'NOT_FOUND', 'Not found.');
  });
  // Express's own error page shows the stack trace: answer malformed requests in GraphQL's shape.
  app.use(requestErrorHandler(logger));
  return app;
}
