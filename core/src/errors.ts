/**
 * Typed errors with stable codes. API users see `code` as the GraphQL error's
 * `extensions.code`, and job failures carry it in `Job.error.code`.
 */

/** Codes an API request can fail with. */
export type ApiErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'QUEUE_FULL'
  | 'RATE_LIMITED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  /** `cancelJob` on a job that already ended (SUCCEEDED, FAILED or CANCELLED). */
  | 'JOB_ALREADY_FINISHED'
  /** `retryJob` on a job that is not FAILED or CANCELLED. */
  | 'JOB_NOT_RETRYABLE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  // Requests refused before they reach a resolver (HTTP shape, size and query limits).
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BATCH_TOO_LARGE'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_SUBSCRIPTIONS';

/** Codes a job can fail with (`Job.error.code`). */
export type JobErrorCode =
  | 'MODEL_FAILED'
  | 'ENCODER_FAILED'
  | 'STORAGE_FAILED'
  | 'INVALID_JOB'
  | 'WORKER_LOST'
  | 'INTERNAL_ERROR';

/** Codes that stay inside Zeus's processes (start-up and coordination between them). */
export type InternalErrorCode = 'CONFIG_INVALID' | 'MODEL_UNAVAILABLE' | 'JOB_CONFLICT';

export type ErrorCode = ApiErrorCode | JobErrorCode | InternalErrorCode;

export class ZeusError extends Error {
  override readonly name: string = 'ZeusError';
  readonly code: ErrorCode;
  /** Extra facts for API users (`extensions` of a GraphQL error). No secrets, no paths. */
  readonly details: Readonly<Record<string, unknown>>;
  /** True when trying the same thing again later may succeed. */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: Record<string, unknown>;
      retryable?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
  }
}

/** One invalid field of an input, with the rule it breaks. */
export interface FieldProblem {
  readonly field: string;
  readonly rule: string;
  readonly message: string;
}

export class InvalidInputError extends ZeusError {
  override readonly name = 'InvalidInputError';
  readonly problems: readonly FieldProblem[];

  constructor(problems: readonly FieldProblem[]) {
    const first = problems[0];
    if (first === undefined) throw new Error('InvalidInputError needs at least one problem');
    super('BAD_USER_INPUT', problems.map((problem) => problem.message).join(' '), {
      details: {
        field: first.field,
        rule: first.rule,
        problems: problems.map(({ field, rule, message }) => ({ field, rule, message })),
      },
    });
    this.problems = problems;
  }
}

export class NotFoundError extends ZeusError {
  override readonly name = 'NotFoundError';
  constructor(what: string, id: string) {
    super('NOT_FOUND', `No ${what} with id "${id}".`, { details: { id } });
  }
}

export class QueueFullError extends ZeusError {
  override readonly name = 'QueueFullError';
  constructor(maxQueued: number) {
    super(
      'QUEUE_FULL',
      `The queue is full (${maxQueued} jobs waiting). Try again when some have finished.`,
      { details: { maxQueued }, retryable: true },
    );
  }
}

/** The request needs an API key, or the key it carries is not one Zeus knows. */
export class UnauthenticatedError extends ZeusError {
  override readonly name = 'UnauthenticatedError';
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
  }
}

/** The caller is known but may not touch this (another key's job). */
export class ForbiddenError extends ZeusError {
  override readonly name = 'ForbiddenError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('FORBIDDEN', message, details === undefined ? {} : { details });
  }
}

/**
 * What was asked does not fit the job's status: cancelling a finished job, retrying one that
 * did not fail. `details.status` is the job's status.
 */
export class JobStatusError extends ZeusError {
  override readonly name = 'JobStatusError';
  constructor(
    code: 'JOB_ALREADY_FINISHED' | 'JOB_NOT_RETRYABLE',
    message: string,
    details: { readonly id: string; readonly status: string },
  ) {
    super(code, message, { details: { ...details } });
  }
}

/** Too many requests of one kind from one caller; `retryAfterSeconds` says when to try again. */
export class RateLimitedError extends ZeusError {
  override readonly name = 'RateLimitedError';
  readonly retryAfterSeconds: number;
  constructor(what: string, limit: string, retryAfterSeconds: number) {
    const wait = Math.max(1, Math.ceil(retryAfterSeconds));
    super(
      'RATE_LIMITED',
      `Too many ${what}: at most ${limit}. Try again in ${wait} second${wait === 1 ? '' : 's'}.`,
      { details: { retryAfterSeconds: wait, limit }, retryable: true },
    );
    this.retryAfterSeconds = wait;
  }
}

/** Every problem with the environment, reported at once at start-up. */
export class ConfigError extends ZeusError {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      'CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** A job failure with a code and a message fit for the user. */
export class JobFailure extends ZeusError {
  override readonly name: string = 'JobFailure';
  constructor(code: JobErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

/** The configured model cannot run in this build or on this machine; retrying will not help. */
export class ModelUnavailableError extends ZeusError {
  override readonly name = 'ModelUnavailableError';
  constructor(message: string, cause?: unknown) {
    super('MODEL_UNAVAILABLE', message, { cause });
  }
}

/** Why a job update was refused. */
export type JobConflictReason =
  /** The job already finished: final states are final. */
  | 'final'
  /** The update comes from an attempt that was replaced by a retry. */
  | 'stale-attempt'
  /** The update does not fit the job's status (for example progress on a queued job). */
  | 'wrong-status'
  /** Progress went backwards within an attempt. */
  | 'regression';

/**
 * A job update that does not apply to the job's current state. Workers stop working on a job
 * when they get this: someone else owns it now, or it is over.
 */
export class JobConflictError extends ZeusError {
  override readonly name = 'JobConflictError';
  readonly reason: JobConflictReason;
  constructor(reason: JobConflictReason, message: string) {
    super('JOB_CONFLICT', message, { details: { reason } });
    this.reason = reason;
  }
}
