/**
 * The worker's small HTTP server for operators: `GET /healthz` (200 when it can take jobs,
 * 503 with every reason when not) and `GET /metrics` (Prometheus). Nothing else: jobs reach the
 * worker through Redis only.
 */
import { createServer, type Server } from 'node:http';
import { boundAddress, listen, type ListenAddress, type Logger } from '@zeus/core';
import type { Registry } from 'prom-client';

export interface WorkerHealth {
  /** Empty when the worker is ready for jobs; otherwise what is wrong, in words. */
  readonly problems: readonly string[];
  /** Facts for operators: model state, last heartbeat, current job. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface StatusServer {
  /** Its socket, or its host and port (the one the system chose for port 0). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export async function startStatusServer(options: {
  readonly address: ListenAddress;
  readonly registry: Registry;
  readonly health: () => Promise<WorkerHealth>;
  readonly logger: Logger;
}): Promise<StatusServer> {
  const { registry, health, logger } = options;
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const answer = async (): Promise<void> => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/healthz') {
        const { problems, details } = await health();
        const ready = problems.length === 0;
        response
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: ready ? 'ok' : 'unavailable', problems, ...details }));
      } else if (path === '/metrics') {
        const text = await registry.metrics();
        response.writeHead(200, { 'content-type': registry.contentType }).end(text);
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.\n');
      }
    };
    answer().catch((error: unknown) => {
      logger.error({ err: error, path }, 'status request failed');
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('Internal error.\n');
    });
  });
  await listen(server, options.address);
  const address = boundAddress(server);
  logger.info(address, 'worker status (/healthz, /metrics) listening');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
