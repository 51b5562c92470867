/**
 * What an API server does behind its transports: its Redis connections, the job store, queue,
 * relay, heartbeats and uploads on them, the job service with its rate limit, the executable
 * schema over them, and webhook delivery. Nothing here knows HTTP or WebSocket.
 */
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  closeRedis,
  connectRedis,
  JobQueue,
  JobStore,
  JobTimingsStore,
  JobUpdateRelay,
  modelRules,
  RedisKeys,
  RedisRateLimiter,
  UploadStore,
  WorkerHeartbeats,
  type Logger,
  type Redis,
  type RedisRole,
} from '@zeus/core';
import { defaultModelsDir, modelDir, TOKENIZER_DIR } from '@zeus/models';
import { typeDefs } from '@zeus/schema';
import type { GraphQLSchema } from 'graphql';
import type { ServerConfig } from './config.ts';
import type { ServiceFigures } from './metrics.ts';
import { JobEstimates } from './job-estimates.ts';
import { JobService } from './job-service.ts';
import { PromptTokens } from './prompt-tokens.ts';
import { OutputAccess } from './output-access.ts';
import { createResolvers } from './resolvers.ts';
import { FirstFrames } from './uploads.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';

export interface ApiServices {
  /** The connection requests use (and health checks ping). */
  readonly requests: Redis;
  /** jobUpdated subscriptions (their count is a metric). */
  readonly relay: JobUpdateRelay;
  readonly uploads: UploadStore;
  /** Counts uploads per caller (`ZEUS_RATE_LIMIT`); null when rate limits are off. */
  readonly uploadLimiter: RedisRateLimiter | null;
  readonly schema: GraphQLSchema;
  /** Who may fetch a job's outputs, and their links (output-access.ts). */
  readonly outputs: OutputAccess;
  /** The queue's and the workers' figures, read from Redis (for metrics). */
  figures(): Promise<ServiceFigures>;
  /** Stops webhook delivery and closes every Redis connection. */
  close(): Promise<void>;
}

export function createApiServices(config: ServerConfig, logger: Logger): ApiServices {
  const keys = new RedisKeys(config.ZEUS_REDIS_PREFIX);
  const connect = (name: string, role: RedisRole): Redis => {
    const connection = connectRedis(config.REDIS_URL, { name, role });
    // ioredis reconnects by itself; without a listener each failure would be an uncaught error.
    connection.on('error', (error: Error) => {
      logger.warn({ err: error.message }, 'Redis connection error');
    });
    return connection;
  };
  const requests = connect('zeus-api', 'requests');
  const subscriber = connect('zeus-api-subscriber', 'background');
  const store = new JobStore(requests, keys, { maxQueued: config.ZEUS_MAX_QUEUED });
  const queue = new JobQueue(requests, keys);
  const relay = new JobUpdateRelay(subscriber, requests, keys, store);
  const heartbeats = new WorkerHeartbeats(requests, keys);
  const rules = modelRules(config.ZEUS_MODEL);
  // Security (issue 15): uploads' bytes bounded per caller and in all.
  const uploads = new UploadStore(requests, keys, {
    ttlSeconds: config.ZEUS_UPLOAD_TTL_SECONDS,
    quota: {
      perCallerBytes: config.ZEUS_UPLOAD_QUOTA_BYTES,
      totalBytes: config.ZEUS_UPLOAD_TOTAL_BYTES,
    },
  });
  const outputs = new OutputAccess({ redis: requests, keys, apiKeys: config.ZEUS_API_KEYS, store });
  const limiter = (name: string, what: string): RedisRateLimiter | null =>
    config.ZEUS_RATE_LIMIT === null
      ? null
      : new RedisRateLimiter(requests, keys, { name, what, limit: config.ZEUS_RATE_LIMIT });
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
    submitLimiter: limiter('submit', 'submissions'),
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
      webhookSecret: config.ZEUS_WEBHOOK_SECRET,
      outputLinks: outputs,
    }),
  });

  // Webhooks: sent by every server, each event once (webhook-dispatcher.ts).
  const secret = config.ZEUS_WEBHOOK_SECRET;
  const webhookConnections =
    secret === undefined
      ? []
      : [
          connect('zeus-api-webhooks', 'background'),
          connect('zeus-api-webhook-events', 'background'),
        ];
  const [consumerConnection, webhookSubscriber] = webhookConnections;
  const webhooks =
    secret === undefined || consumerConnection === undefined || webhookSubscriber === undefined
      ? null
      : new WebhookDispatcher({
          store,
          keys,
          queueConnection: requests,
          consumerConnection,
          subscriber: webhookSubscriber,
          secret,
          allowPrivate: config.ZEUS_WEBHOOK_ALLOW_PRIVATE,
          attempts: config.ZEUS_WEBHOOK_ATTEMPTS,
          backoffMs: config.ZEUS_WEBHOOK_BACKOFF_MS,
          timeoutMs: config.ZEUS_WEBHOOK_TIMEOUT_MS,
          logger,
        });
  // Not awaited: a server starts (and answers its health check) while Redis is still away.
  webhooks?.start().catch((error: unknown) => {
    logger.error({ err: error }, 'webhook delivery could not start');
  });

  return {
    requests,
    relay,
    uploads,
    uploadLimiter: limiter('upload', 'uploads'),
    schema,
    outputs,
    figures: async () => {
      const [counts, workers] = await Promise.all([store.counts(), heartbeats.online()]);
      return {
        ...counts,
        maxQueued: store.maxQueued,
        workersOnline: workers.length,
        workersReady: workers.filter((w) => w.modelReady && w.model === rules.model).length,
      };
    },
    close: async () => {
      await webhooks?.close();
      await Promise.all([
        closeRedis(subscriber),
        queue.close(),
        ...webhookConnections.map(closeRedis),
      ]);
      await closeRedis(requests);
    },
  };
}
