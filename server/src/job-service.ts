/**
 * What the API does to jobs, behind the resolvers: submit one or a batch, cancel, retry. Each
 * charges the rate limit first (a refused submission costs its caller as much as an accepted
 * one, so bad input is no free way to make the server work), then checks the input, the
 * caller's right to the priority and the queue bound, in that order, then stores and queues the
 * jobs; a job stored but not queued is failed at once rather than left waiting for nothing.
 */
import { randomUUID } from 'node:crypto';
import {
  isFinalStatus,
  JobConflictError,
  JobStatusError,
  maxPriorityFor,
  newJob,
  randomSeed,
  requirePriorityAllowed,
  validateBatch,
  validateSubmission,
  ZeusError,
  type BatchRecord,
  type BatchRequest,
  type Job,
  type JobQueue,
  type JobStore,
  type JobView,
  type KeyPriorities,
  type Logger,
  type ModelRules,
  type RedisRateLimiter,
  type Submission,
  type SubmissionRequest,
  type SubmissionRules,
} from '@zeus/core';
import { rateLimitKey, type ApiKeyRing, type Caller } from './auth.ts';
import type { PromptTokens } from './prompt-tokens.ts';
import type { FirstFrames } from './uploads.ts';

export interface JobServiceOptions {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly rules: ModelRules;
  readonly logger: Logger;
  readonly promptTokens?: PromptTokens | undefined;
  readonly apiKeys: ApiKeyRing;
  /** The highest priority each key may use (`ZEUS_KEY_PRIORITIES`). */
  readonly keyPriorities: KeyPriorities;
  /** Counts submissions per caller; null when rate limits are off. */
  readonly submitLimiter: RedisRateLimiter | null;
  readonly maxBatch: number;
  readonly webhooks: { readonly enabled: boolean; readonly allowPrivate: boolean };
  /** Image-to-video first frames (`imageId`), copied to each job that uses one. */
  readonly firstFrames: FirstFrames;
}

/** `PromptInput`'s image-to-video field, beside what core validates. */
type WithImage<T> = T & { readonly imageId?: string | null | undefined };

export class JobService {
  constructor(private readonly options: JobServiceOptions) {}

  /** `submitPrompt`: one job, owned by `owner` (the caller's key name; null without keys). */
  async submit(
    input: WithImage<SubmissionRequest>,
    caller: Caller,
    owner: string | null,
  ): Promise<JobView> {
    await this.charge(caller, 1);
    const submission = await this.withImage(
      validateSubmission(input, await this.submissionRules()),
      input.imageId,
      owner,
    );
    const [job] = await this.create([submission], caller, owner, {});
    if (job === undefined) throw new Error('No job was created.');
    return job;
  }

  /** `submitBatch`: every job of the batch, or none. */
  async submitBatch(
    input: BatchRequest & { readonly settings: WithImage<SubmissionRequest> },
    caller: Caller,
    owner: string | null,
  ): Promise<{ batch: BatchRecord; jobs: JobView[] }> {
    await this.charge(caller, batchSize(input, this.options.maxBatch));
    const submissions = await Promise.all(
      validateBatch(input, await this.submissionRules()).map((submission) =>
        this.withImage(submission, input.settings.imageId, owner),
      ),
    );
    const batchId = randomUUID();
    const jobs = await this.create(submissions, caller, owner, { batchId });
    return {
      batch: {
        id: batchId,
        owner,
        jobIds: jobs.map((job) => job.id),
        createdAt: jobs[0]?.createdAt ?? new Date().toISOString(),
      },
      jobs,
    };
  }

  /**
   * `cancelJob` on a job the caller may touch: a queued job leaves the queue (and BullMQ); a
   * running one is marked CANCELLED, which its worker hears at once and stops.
   */
  async cancel(job: JobView, caller: Caller): Promise<JobView> {
    const alreadyOver = (status: string): JobStatusError =>
      new JobStatusError(
        'JOB_ALREADY_FINISHED',
        `Job ${job.id} is already ${status}: there is nothing to cancel.`,
        { id: job.id, status },
      );
    if (isFinalStatus(job.status)) throw alreadyOver(job.status);
    let cancelled: Job;
    try {
      cancelled = await this.options.store.update(job.id, { type: 'cancel' });
    } catch (error) {
      if (error instanceof JobConflictError && error.reason === 'final') {
        // It finished between our reading and our writing.
        throw alreadyOver((await this.options.store.require(job.id)).status);
      }
      throw error;
    }
    // Taken off BullMQ's queue, unless a worker took it in the meantime: that worker finds it
    // cancelled and skips it.
    if (job.status === 'QUEUED') await this.options.queue.remove(job.id);
    this.options.logger.info(
      { jobId: job.id, was: job.status, keyName: caller.keyName, client: caller.address },
      'job cancelled',
    );
    return { ...cancelled, queuePosition: null };
  }

  /** `retryJob`: a new job with the FAILED or CANCELLED job's settings, seed and priority. */
  async retry(job: JobView, caller: Caller): Promise<JobView> {
    if (job.status !== 'FAILED' && job.status !== 'CANCELLED') {
      throw new JobStatusError(
        'JOB_NOT_RETRYABLE',
        `Job ${job.id} is ${job.status}: only FAILED or CANCELLED jobs can be retried.`,
        { id: job.id, status: job.status },
      );
    }
    await this.charge(caller, 1);
    const submission: Submission = {
      settings: job.settings,
      priority: job.priority ?? 0,
      // Webhooks turned off since: the retry has none.
      webhook: this.options.webhooks.enabled ? (job.webhook ?? null) : null,
    };
    const [retried] = await this.create([submission], caller, job.owner ?? null, {
      retryOf: job.id,
    });
    if (retried === undefined) throw new Error('No job was created.');
    return retried;
  }

  /** The submission with the first frame `imageId` names, if any (checked for `owner`). */
  private async withImage(
    submission: Submission,
    imageId: string | null | undefined,
    owner: string | null,
  ): Promise<Submission> {
    const image = await this.options.firstFrames.describe(imageId, owner);
    return image === undefined
      ? submission
      : { ...submission, settings: { ...submission.settings, image } };
  }

  private async submissionRules(): Promise<SubmissionRules> {
    const { rules, promptTokens, maxBatch, webhooks } = this.options;
    return {
      rules,
      drawSeed: () => randomSeed(rules),
      countTokens: await promptTokens?.counter(),
      webhooks,
      maxBatch,
    };
  }

  /** Counts `count` submissions against the caller's rate limit; RATE_LIMITED beyond it. */
  private async charge(caller: Caller, count: number): Promise<void> {
    const { submitLimiter, logger } = this.options;
    await submitLimiter?.consume(rateLimitKey(caller), count).catch((error: unknown) => {
      logger.info({ keyName: caller.keyName, client: caller.address }, 'submission rate-limited');
      throw error;
    });
  }

  /** Checks the priority, then stores and queues the jobs, all or none. */
  private async create(
    submissions: readonly Submission[],
    caller: Caller,
    owner: string | null,
    link: { readonly batchId?: string; readonly retryOf?: string },
  ): Promise<JobView[]> {
    const { store, queue, rules, logger, apiKeys, keyPriorities } = this.options;
    const maxPriority = maxPriorityFor(caller.keyName, apiKeys.enabled, keyPriorities);
    for (const submission of submissions) requirePriorityAllowed(submission.priority, maxPriority);
    const now = new Date();
    const jobs = submissions.map((submission) =>
      newJob({
        id: randomUUID(),
        settings: submission.settings,
        model: rules.model,
        totalSteps: rules.steps,
        now,
        owner,
        priority: submission.priority,
        webhook: submission.webhook,
        batchId: link.batchId ?? null,
        retryOf: link.retryOf ?? null,
      }),
    );
    // Each image-to-video job gets its own copy of its image before it can be queued.
    await this.options.firstFrames.attach(jobs, link.retryOf);
    let stored: JobView[];
    try {
      stored =
        link.batchId === undefined
          ? await store.submitMany(jobs)
          : await store.submitMany(jobs, {
              id: link.batchId,
              owner,
              jobIds: jobs.map((job) => job.id),
              createdAt: now.toISOString(),
            });
    } catch (error) {
      await this.options.firstFrames.detach(jobs);
      throw error;
    }
    try {
      await queue.addMany(jobs.map((job) => ({ id: job.id, priority: job.priority ?? 0 })));
    } catch (error) {
      // Stored but not queued: fail them rather than leave them waiting for nothing. (A crash
      // right here is repaired by workers, which queue stored jobs BullMQ lacks.)
      logger.error(
        { err: error, jobIds: jobs.map((job) => job.id) },
        'could not queue stored jobs',
      );
      await Promise.all(
        jobs.map((job) =>
          store
            .update(job.id, {
              type: 'fail',
              code: 'INTERNAL_ERROR',
              message: 'The job could not be queued.',
            })
            .catch(() => undefined),
        ),
      );
      throw new ZeusError('SERVICE_UNAVAILABLE', 'The job could not be queued. Try again.', {
        retryable: true,
        cause: error,
      });
    }
    for (const job of jobs) {
      logger.info(
        {
          jobId: job.id,
          settings: job.settings,
          priority: job.priority,
          batchId: job.batchId,
          retryOf: job.retryOf,
          webhook: job.webhook !== null,
          keyName: caller.keyName,
          client: caller.address,
        },
        'job submitted',
      );
    }
    return stored;
  }
}

/**
 * The jobs a batch asks for, read from its input before it is checked (each prompt times each
 * seed, or `count`), between 1 and `maxBatch`: a batch too large is charged as the largest one
 * and then told why it is refused.
 */
export function batchSize(input: BatchRequest, maxBatch: number): number {
  const prompts = 1 + (input.prompts?.length ?? 0);
  const perPrompt = input.seeds?.length ?? input.count ?? 1;
  const size = prompts * (Number.isSafeInteger(perPrompt) ? perPrompt : 1);
  return Math.min(maxBatch, Math.max(1, size));
}
