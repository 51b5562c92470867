/**
 * The API's resolvers: thin glue between GraphQL and the job store, queue, relay and model rules.
 */
import { randomUUID } from 'node:crypto';
import {
  ForbiddenError,
  InvalidInputError,
  isJobId,
  newJob,
  randomSeed,
  serviceModelStatus,
  UnauthenticatedError,
  validatePromptRequest,
  ZeusError,
  type Job,
  type JobQueue,
  type JobStore,
  type JobUpdateRelay,
  type JobView,
  type Logger,
  type ModelRules,
  type RedisRateLimiter,
  type WorkerHeartbeats,
} from '@zeus/core';
import type { Resolvers } from '@zeus/schema';
import { GraphQLScalarType, Kind } from 'graphql';
import type { PromptTokens } from './prompt-tokens.ts';
import { KEY_REQUIRED_MESSAGE, rateLimitKey, type ApiKeyRing, type Caller } from './auth.ts';

export interface ApiServices {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly relay: JobUpdateRelay;
  readonly heartbeats: WorkerHeartbeats;
  readonly rules: ModelRules;
  readonly logger: Logger;
  /** Counts prompt tokens with the model's tokenizer (absent: prompts bounded by characters). */
  readonly promptTokens?: PromptTokens;
  /** The configured API keys (none: everyone may do everything). */
  readonly apiKeys: ApiKeyRing;
  /** Counts `submitPrompt` per caller; null when rate limits are off. */
  readonly submitLimiter: RedisRateLimiter | null;
}

/**
 * Per-request context: who is asking (HTTP headers or the WebSocket's connection parameters,
 * checked before any resolver runs); resolvers close over the services.
 */
export interface ApiContext {
  readonly caller: Caller;
}

const MAX_PAGE_SIZE = 100;

/** ISO 8601 instants; stored timestamps already are such strings. */
const DateTime = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  serialize: (value) => {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return value;
    throw new TypeError('DateTime must be a Date or an ISO 8601 string.');
  },
  parseValue: (value) => parseInstant(value),
  parseLiteral: (ast) => parseInstant(ast.kind === Kind.STRING ? ast.value : null),
});

function parseInstant(value: unknown): string {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new TypeError('DateTime must be an ISO 8601 string.');
  return new Date(time).toISOString();
}

/** Job ids are UUIDs: anything else is a mistake worth naming, not an unknown job. */
function requireJobId(id: string): void {
  if (isJobId(id)) return;
  const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  throw new InvalidInputError([
    {
      field: 'id',
      rule: 'jobId',
      message: `id must be a job id, a UUID such as 6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f (got ${JSON.stringify(shown)}).`,
    },
  ]);
}

export function createResolvers(services: ApiServices): Resolvers<ApiContext> {
  const { store, queue, relay, heartbeats, rules, logger, apiKeys, submitLimiter } = services;

  /** With keys on, the caller's key name; throws UNAUTHENTICATED without one. Null: keys off. */
  const requireKey = (caller: Caller): string | null => {
    if (!apiKeys.enabled) return null;
    if (caller.keyName === null) throw new UnauthenticatedError(KEY_REQUIRED_MESSAGE);
    return caller.keyName;
  };
  /** With keys on, a job is its owner's only. */
  const requireOwnJob = <T extends Job>(job: T, caller: Caller): T => {
    const keyName = requireKey(caller);
    if (keyName !== null && (job.owner ?? null) !== keyName) {
      throw new ForbiddenError(
        'This job was submitted with another API key: only its owner can see it.',
      );
    }
    return job;
  };

  return {
    DateTime,
    Query: {
      job: async (_parent, { id }, { caller }) => {
        requireKey(caller);
        requireJobId(id);
        return requireOwnJob(await store.require(id), caller);
      },
      jobs: async (_parent, { first, after }, { caller }) => {
        const owner = requireKey(caller);
        // The SDL's default covers an absent argument, not an explicit null.
        const pageSize = (first as number | null) ?? 20;
        if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
          throw new InvalidInputError([
            {
              field: 'first',
              rule: 'range',
              message: `first must be between 1 and ${MAX_PAGE_SIZE} (got ${pageSize}).`,
            },
          ]);
        }
        const page = await store.list({ first: pageSize, after: after ?? null, owner });
        return {
          edges: page.jobs.map(({ cursor, job }) => ({ cursor, node: job })),
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
          totalCount: page.totalCount,
        };
      },
      system: async () => {
        const [counts, workers] = await Promise.all([store.counts(), heartbeats.online()]);
        return {
          queueLength: counts.queued,
          maxQueued: store.maxQueued,
          running: counts.running,
          workersOnline: workers.length,
          modelReady: workers.some((worker) => worker.modelReady && worker.model === rules.model),
          modelStatus: serviceModelStatus(workers.filter((worker) => worker.model === rules.model)),
          model: rules.model,
        };
      },
      modelRules: () => ({
        model: rules.model,
        defaults: rules.defaults,
        sizeMultiple: rules.sizeMultiple,
        width: rules.width,
        height: rules.height,
        frameStep: rules.frameStep,
        numFrames: rules.numFrames,
        frameRate: rules.frameRate,
        seed: rules.seed,
        maxPromptTokens: rules.maxPromptTokens,
        maxPromptChars: rules.maxPromptChars,
        maxLatentTokens: rules.maxLatentTokens,
        steps: rules.steps,
      }),
    },
    Mutation: {
      submitPrompt: async (_parent, { input }, { caller }) => {
        const owner = requireKey(caller);
        const settings = validatePromptRequest(
          input,
          rules,
          () => randomSeed(rules),
          await services.promptTokens?.counter(),
        );
        // Counted once the input is valid: a mistake costs nothing but its error.
        await submitLimiter?.consume(rateLimitKey(caller)).catch((error: unknown) => {
          logger.info(
            { keyName: caller.keyName, client: caller.address },
            'submission rate-limited',
          );
          throw error;
        });
        const job = newJob({
          id: randomUUID(),
          settings,
          model: rules.model,
          totalSteps: rules.steps,
          now: new Date(),
          owner,
        });
        const stored = await store.submit(job);
        try {
          await queue.add(job.id);
        } catch (error) {
          // Stored but not queued: fail it rather than leave it waiting for nothing. (A crash
          // right here is repaired by workers, which queue stored jobs BullMQ lacks.)
          logger.error({ err: error, jobId: job.id }, 'could not queue a stored job');
          await store
            .update(job.id, {
              type: 'fail',
              code: 'INTERNAL_ERROR',
              message: 'The job could not be queued.',
            })
            .catch(() => undefined);
          throw new ZeusError('SERVICE_UNAVAILABLE', 'The job could not be queued. Try again.', {
            retryable: true,
            cause: error,
          });
        }
        logger.info(
          { jobId: job.id, settings, keyName: caller.keyName, client: caller.address },
          'job submitted',
        );
        return stored;
      },
    },
    Subscription: {
      jobUpdated: {
        subscribe: async (_parent, { id }, { caller }) => {
          requireKey(caller);
          requireJobId(id);
          requireOwnJob(await store.require(id), caller);
          logger.debug({ jobId: id, client: caller.address }, 'following a job');
          return relay.open(id);
        },
        resolve: (job: JobView) => job,
      },
    },
  };
}
