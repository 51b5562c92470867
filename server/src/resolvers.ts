/**
 * The API's resolvers: thin glue between GraphQL and the job store, queue, relay and model rules.
 */
import {
  expiresAt,
  ForbiddenError,
  InvalidInputError,
  isJobId,
  MAX_SEARCH_CHARS,
  NotFoundError,
  serviceModelStatus,
  UnauthenticatedError,
  webhookSecretFor,
  type Job,
  type JobStore,
  type JobUpdateRelay,
  type JobView,
  type Logger,
  type ModelRules,
  type WorkerHeartbeats,
  type WorkerView,
} from '@zeus/core';
import type { Resolvers } from '@zeus/schema';
import { GraphQLScalarType, Kind } from 'graphql';
import { KEY_REQUIRED_MESSAGE, type ApiKeyRing, type Caller } from './auth.ts';
import type { JobEstimate, JobEstimates } from './job-estimates.ts';
import type { JobService } from './job-service.ts';
import type { OutputAccess } from './output-access.ts';

export interface ApiServices {
  readonly store: JobStore;
  readonly relay: JobUpdateRelay;
  readonly heartbeats: WorkerHeartbeats;
  readonly rules: ModelRules;
  readonly logger: Logger;
  /** Submitting, cancelling and retrying jobs. */
  readonly jobs: JobService;
  /** When queued and running jobs will start and finish. */
  readonly estimates: JobEstimates;
  /** The configured API keys (none: everyone may do everything). */
  readonly apiKeys: ApiKeyRing;
  /** How long finished jobs are kept (`ZEUS_RETENTION`); null: for ever. */
  readonly retentionMs: number | null;
  /** The most jobs one batch may have. */
  readonly maxBatch: number;
  /** First-frame uploads: the largest accepted, and how long one can be used. */
  readonly uploads: { readonly maxBytes: number; readonly ttlSeconds: number };
  /** `ZEUS_WEBHOOK_SECRET`; undefined: webhooks off. */
  readonly webhookSecret: string | undefined;
  /** Outputs' paths as their owner gets them: signed links with keys on (output-access.ts). */
  readonly outputLinks: Pick<OutputAccess, 'link'>;
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
  const { store, relay, heartbeats, rules, logger, apiKeys, jobs, estimates, retentionMs } =
    services;
  const { outputLinks } = services;

  /** With keys on, the caller's key name; throws UNAUTHENTICATED without one. Null: keys off. */
  const requireKey = (caller: Caller): string | null => {
    if (!apiKeys.enabled) return null;
    if (caller.keyName === null) throw new UnauthenticatedError(KEY_REQUIRED_MESSAGE);
    return caller.keyName;
  };
  /** With keys on, a job is its owner's only. */
  const requireOwnJob = <T extends Pick<Job, 'owner'>>(job: T, caller: Caller): T => {
    const keyName = requireKey(caller);
    if (keyName !== null && (job.owner ?? null) !== keyName) {
      throw new ForbiddenError(
        'This job was submitted with another API key: only its owner can see it.',
      );
    }
    return job;
  };
  /** The job by id, if the caller may touch it. */
  const ownJob = async (id: string, caller: Caller): Promise<JobView> => {
    requireKey(caller);
    requireJobId(id);
    return requireOwnJob(await store.require(id), caller);
  };
  /** One estimate per job object, shared by the three fields that show it. */
  const estimateCache = new WeakMap<JobView, Promise<JobEstimate>>();
  const estimateOf = (job: JobView): Promise<JobEstimate> => {
    let estimate = estimateCache.get(job);
    if (estimate === undefined) {
      estimate = estimates.of(job);
      estimateCache.set(job, estimate);
    }
    return estimate;
  };
  /** A worker's current job, when the caller may see it; one read per worker and request. */
  const currentJobs = new WeakMap<WorkerView, Promise<JobView | null>>();
  const visibleCurrentJob = (worker: WorkerView, caller: Caller): Promise<JobView | null> => {
    let found = currentJobs.get(worker);
    if (found === undefined) {
      const keyName = requireKey(caller);
      found =
        worker.currentJobId === null
          ? Promise.resolve(null)
          : store
              .get(worker.currentJobId)
              .then((job) =>
                job !== null && (keyName === null || (job.owner ?? null) === keyName) ? job : null,
              );
      currentJobs.set(worker, found);
    }
    return found;
  };
  const inSeconds = (seconds: number | null): string | null =>
    seconds === null ? null : new Date(Date.now() + seconds * 1_000).toISOString();

  return {
    DateTime,
    Query: {
      job: (_parent, { id }, { caller }) => ownJob(id, caller),
      batch: async (_parent, { id }, { caller }) => {
        requireKey(caller);
        requireJobId(id);
        const found = await store.getBatch(id);
        if (found === null) throw new NotFoundError('batch', id);
        requireOwnJob(found.batch, caller);
        return { id: found.batch.id, jobs: found.jobs, createdAt: found.batch.createdAt };
      },
      jobs: async (_parent, { first, after, search }, { caller }) => {
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
        if (search != null && search.length > MAX_SEARCH_CHARS) {
          throw new InvalidInputError([
            {
              field: 'search',
              rule: 'maxLength',
              message: `search must be at most ${MAX_SEARCH_CHARS} characters (got ${search.length}).`,
            },
          ]);
        }
        const page = await store.list({
          first: pageSize,
          after: after ?? null,
          owner,
          search: search ?? null,
        });
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
          maxBatch: services.maxBatch,
          maxUploadBytes: services.uploads.maxBytes,
          uploadTtlSeconds: services.uploads.ttlSeconds,
          retentionSeconds: retentionMs === null ? null : Math.round(retentionMs / 1_000),
        };
      },
      workers: async (_parent, _args, { caller }) => {
        requireKey(caller);
        return heartbeats.list();
      },
      webhookSecret: (_parent, _args, { caller }) => {
        const keyName = requireKey(caller);
        const secret = services.webhookSecret;
        return secret === undefined || keyName === null ? null : webhookSecretFor(secret, keyName);
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
        ignoredSettings: [...rules.ignoredSettings],
        sizePresets: [...rules.sizePresets],
      }),
    },
    Mutation: {
      submitPrompt: (_parent, { input }, { caller }) =>
        jobs.submit(input, caller, requireKey(caller)),
      submitBatch: async (_parent, { input }, { caller }) => {
        const { batch, jobs: submitted } = await jobs.submitBatch(
          input,
          caller,
          requireKey(caller),
        );
        return { id: batch.id, jobs: submitted, createdAt: batch.createdAt };
      },
      cancelJob: async (_parent, { id }, { caller }) =>
        jobs.cancel(await ownJob(id, caller), caller),
      retryJob: async (_parent, { id }, { caller }) => jobs.retry(await ownJob(id, caller), caller),
    },
    Worker: {
      ready: (worker) => worker.modelReady,
      // With keys on, another key's job is neither shown nor named: its id would be enough to
      // follow its outputs' URLs or tell when another tenant's work runs.
      currentJobId: async (worker, _args, { caller }) =>
        (await visibleCurrentJob(worker, caller))?.id ?? null,
      currentJob: (worker, _args, { caller }) => visibleCurrentJob(worker, caller),
    },
    GenerationSettings: {
      // Stored only when off (older records have neither field).
      preview: (settings) => settings.preview ?? true,
      image: (settings) => settings.image ?? null,
    },
    Job: {
      // With keys on, links only the owner gets (whoever can read the job is its owner).
      videoUrl: (job) => outputLinks.link(job.videoUrl),
      previewUrl: (job) => outputLinks.link(job.previewUrl),
      posterUrl: (job) => outputLinks.link(job.posterUrl),
      priority: (job) => job.priority ?? 0,
      retryOf: (job) => job.retryOf ?? null,
      batchId: (job) => job.batchId ?? null,
      webhook: (job) => job.webhook ?? null,
      etaSeconds: async (job) => (await estimateOf(job)).finishInSeconds,
      estimatedStartAt: async (job) =>
        job.status === 'QUEUED' ? inSeconds((await estimateOf(job)).startInSeconds) : null,
      estimatedFinishAt: async (job) => inSeconds((await estimateOf(job)).finishInSeconds),
      expiresAt: (job) => expiresAt(job, retentionMs),
      webhookDeliveries: async (job) =>
        (await store.webhookDeliveries(job.id)).map((delivery) => ({
          eventId: delivery.eventId,
          event: delivery.type,
          attempt: delivery.attempt,
          status: delivery.status,
          ok: delivery.ok,
          at: delivery.at,
          error: delivery.error,
        })),
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
