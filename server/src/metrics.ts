/**
 * The API server's Prometheus metrics (prom-client), served at `GET /metrics` on the server's
 * own port. Caddy does not route `/metrics`, so it is not public: Prometheus scrapes each server
 * directly. Each server has its own registry; gauges about the queue are read from Redis when
 * scraped, so every server reports the same shared figures.
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
} from 'prom-client';

export interface ServiceFigures {
  readonly queued: number;
  readonly running: number;
  readonly maxQueued: number;
  readonly workersOnline: number;
  readonly workersReady: number;
}

export interface ApiMetrics {
  readonly registry: Registry;
  /** Times one HTTP request; call the result when the response is finished. */
  startHttpTimer(method: string): (labels: { route: string; status: number }) => void;
  /** One GraphQL error sent to a client, by its `extensions.code`. */
  countError(code: string): void;
  /** One GraphQL operation started, by type (`query`, `mutation`, `subscription`). */
  countOperation(type: string, transport: 'http' | 'websocket'): void;
}

/** HTTP routes are labelled by these names only, so scanners cannot blow up label counts. */
const KNOWN_ROUTES = new Set(['/graphql', '/uploads', '/healthz', '/metrics', '/output-auth']);

export function routeLabel(path: string): string {
  return KNOWN_ROUTES.has(path) ? path : 'other';
}

export function createApiMetrics(sources: {
  /** Queue and worker figures, read from Redis when Prometheus scrapes. */
  readonly figures: () => Promise<ServiceFigures>;
  readonly openSubscriptions: () => number;
  readonly openWebSockets: () => number;
}): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(config: CounterConfiguration<L>): Counter<L> =>
    new Counter({ ...config, registers: [registry] });

  const httpRequests = counter({
    name: 'zeus_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
  });
  const httpDuration = new Histogram({
    name: 'zeus_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = counter({
    name: 'zeus_api_errors_total',
    help: 'GraphQL errors sent to clients, by code.',
    labelNames: ['code'] as const,
  });
  const operations = counter({
    name: 'zeus_graphql_operations_total',
    help: 'GraphQL operations started, by type and transport.',
    labelNames: ['type', 'transport'] as const,
  });

  // Queue figures are read once per scrape and shared by the gauges below.
  let pending: Promise<ServiceFigures | null> | null = null;
  const figures = (): Promise<ServiceFigures | null> => {
    pending ??= sources
      .figures()
      .catch(() => null)
      .finally(() => {
        pending = null;
      });
    return pending;
  };
  const figureGauge = (
    name: string,
    help: string,
    read: (figures: ServiceFigures, gauge: Gauge<'state'>) => void,
    labelNames: readonly 'state'[] = [],
  ): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const current = await figures();
        // Redis unreachable: report nothing rather than a wrong zero.
        if (current !== null) read(current, this);
      },
    });
  };
  figureGauge(
    'zeus_jobs',
    'Jobs queued and running now, across the installation.',
    (current, gauge) => {
      gauge.set({ state: 'queued' }, current.queued);
      gauge.set({ state: 'running' }, current.running);
    },
    ['state'],
  );
  figureGauge('zeus_queue_depth', 'Jobs waiting in the queue.', (current, gauge) => {
    gauge.set(current.queued);
  });
  figureGauge(
    'zeus_queue_capacity',
    'The most jobs the queue holds (ZEUS_MAX_QUEUED).',
    (current, gauge) => {
      gauge.set(current.maxQueued);
    },
  );
  figureGauge(
    'zeus_workers_online',
    'Workers with a live heartbeat (ready: model loaded).',
    (current, gauge) => {
      gauge.set({ state: 'online' }, current.workersOnline);
      gauge.set({ state: 'ready' }, current.workersReady);
    },
    ['state'],
  );
  new Gauge({
    name: 'zeus_subscriptions_active',
    help: 'jobUpdated subscriptions open on this server.',
    registers: [registry],
    collect() {
      this.set(sources.openSubscriptions());
    },
  });
  new Gauge({
    name: 'zeus_websocket_connections',
    help: 'WebSocket connections open on this server.',
    registers: [registry],
    collect() {
      this.set(sources.openWebSockets());
    },
  });

  return {
    registry,
    startHttpTimer: (method) => {
      const stop = httpDuration.startTimer({ method });
      return ({ route, status }) => {
        stop({ route });
        httpRequests.inc({ method, route, status: String(status) });
      };
    },
    countError: (code) => {
      errors.inc({ code });
    },
    countOperation: (type, transport) => {
      operations.inc({ type, transport });
    },
  };
}
