/**
 * The API's resolvers: thin glue between GraphQL and the job store, queue, relay and model rules.
 */
import { randomUUID } from 'node:crypto';
import {
  InvalidInputError,
  newJob,
  randomSeed,
  serviceModelStatus,
  validatePromptRequest,
  ZeusError,
  type JobQueue,
  type JobStore,
  type JobUpdateRelay,
  type JobView,
  type Logger,
  type ModelRules,
  type WorkerHeartbeats,
} from '@zeus/core';
import type { Resolvers } from '@zeus/schema';
import { GraphQLScalarType, Kind } from 'graphql';
import type { PromptTokens } from './prompt-tokens.ts';

export interface ApiServices {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly relay: JobUpdateRelay;
  readonly heartbeats: WorkerHeartbeats;
  readonly rules: ModelRules;
  readonly logger: Logger;
  /** Counts prompt tokens with the model's tokenizer (absent: prompts bounded by characters). */
  readonly promptTokens?: PromptTokens;
}

/** Per-request context: nothing yet (no accounts); resolvers close over the services. */
export type ApiContext = Record<string, never>;

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

export function createResolvers(services: ApiServices): Resolvers<ApiContext> {
  const { store, queue, relay, heartbeats, rules, logger } = services;

  return {
    DateTime,
    Query: {
      job: (_parent, { id }) => store.require(id),
      jobs: async (_parent, { first, after }) => {
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
        const page = await store.list({ first: pageSize, after: after ?? null });
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
      submitPrompt: async (_parent, { input }) => {
        const settings = validatePromptRequest(
          input,
          rules,
          () => randomSeed(rules),
          await services.promptTokens?.counter(),
        );
        const job = newJob({
          id: randomUUID(),
          settings,
          model: rules.model,
          totalSteps: rules.steps,
          now: new Date(),
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
        logger.info({ jobId: job.id, settings }, 'job submitted');
        return stored;
      },
    },
    Subscription: {
      jobUpdated: {
        subscribe: (_parent, { id }) => relay.open(id),
        resolve: (job: JobView) => job,
      },
    },
  };
}
