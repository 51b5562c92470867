/* Generated from schema.graphql by schema/src/codegen.ts: do not edit. */
/* eslint-disable */
import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type {
  JobView,
  GenerationSettings as StoredGenerationSettings,
  WorkerView,
} from '@zeus/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string };
  String: { input: string; output: string };
  Boolean: { input: boolean; output: boolean };
  Int: { input: number; output: number };
  Float: { input: number; output: number };
  /** An instant in time, as an ISO 8601 string in UTC (for example `2026-11-27T14:30:00.000Z`). */
  DateTime: { input: string; output: string };
};

export type Query = {
  __typename?: 'Query';
  /**
   * One job by id. Unknown ids are an error with code `NOT_FOUND`; an id that is not a UUID is
   * `BAD_USER_INPUT`. With API keys on, it needs a key (`UNAUTHENTICATED`), and another key's
   * job is `FORBIDDEN`.
   */
  job: Job;
  /**
   * Past and present jobs, newest first. Pass the previous page's `pageInfo.endCursor`
   * as `after` to get the next page. With API keys on, only the jobs of the key sent.
   *
   * With `search`, only the jobs whose prompt contains every word of it (any part of a word, in
   * any case). A search request looks at no more than 10,000 jobs of the history: a page may
   * then hold fewer jobs than `first`, even none, while `pageInfo.hasNextPage` says that older
   * jobs are still to be searched from its `endCursor`. `totalCount` still counts the whole
   * history (matches are not counted).
   */
  jobs: JobConnection;
  /** Queue, workers and model readiness. */
  system: SystemStatus;
  /**
   * The workers: every one seen in the last hour, those with a fresh heartbeat (`ONLINE`) first,
   * then those whose heartbeat stopped (`GONE`: stopped, or lost with its job going back to the
   * queue). With API keys on, it needs a key (`UNAUTHENTICATED`).
   */
  workers: Array<Worker>;
  /** The generation settings' defaults and the model's rules, to show before submitting. */
  modelRules: ModelRules;
  /**
   * A batch submitted with `submitBatch`, with its jobs still kept. Unknown ids are `NOT_FOUND`;
   * the same keys rule as for `job`.
   */
  batch: Batch;
  /**
   * The secret your jobs' webhooks are signed with (`Zeus-Webhook-Signature`): verify them with
   * it. Each API key has its own, so no other tenant can sign an event your receiver accepts.
   * Needs a key (`UNAUTHENTICATED` without one). Null while webhooks are off, and with API keys
   * off: webhooks are then signed with `ZEUS_WEBHOOK_SECRET` itself, which the operator holds.
   */
  webhookSecret?: Maybe<Scalars['String']['output']>;
};

export type QueryJobArgs = {
  id: Scalars['ID']['input'];
};

export type QueryJobsArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
};

export type QueryBatchArgs = {
  id: Scalars['ID']['input'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Queue a text-to-video job. Every setting but `prompt` has the model's default.
   * Invalid input is an error with code `BAD_USER_INPUT` whose `extensions.field` names the
   * field; a full queue is `QUEUE_FULL`; too many submissions from one key or address is
   * `RATE_LIMITED`, with `extensions.retryAfterSeconds`; with API keys on and none sent,
   * `UNAUTHENTICATED`. Nothing is queued when an error is returned.
   */
  submitPrompt: Job;
  /**
   * Queue several jobs at once: each prompt (`settings.prompt`, then `prompts`) with each seed
   * (`seeds`, or `count` random ones), at most `system.maxBatch` jobs. All of them are queued or
   * none: the queue must have room for every one (`QUEUE_FULL`), and they count as that many
   * submissions against the rate limit. Same errors as `submitPrompt`.
   */
  submitBatch: Batch;
  /**
   * Cancel a job: a queued job leaves the queue at once (the jobs behind it move up); a running
   * one stops within one denoising step and its files are removed. It ends `CANCELLED`. A job
   * that already finished is `JOB_ALREADY_FINISHED` (with `extensions.status`); with API keys on,
   * only the job's owner may cancel it (`FORBIDDEN`).
   */
  cancelJob: Job;
  /**
   * Queue a FAILED or CANCELLED job again, as a new job with the same settings (seed included),
   * priority and webhook; the new job's `retryOf` names the old one. Any other status is
   * `JOB_NOT_RETRYABLE`. Counts as a submission (rate limit, queue bound); with API keys on, only
   * the job's owner may retry it.
   */
  retryJob: Job;
};

export type MutationSubmitPromptArgs = {
  input: PromptInput;
};

export type MutationSubmitBatchArgs = {
  input: BatchInput;
};

export type MutationCancelJobArgs = {
  id: Scalars['ID']['input'];
};

export type MutationRetryJobArgs = {
  id: Scalars['ID']['input'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /**
   * The job's current state at once, then every change (progress at least once per denoising
   * step, at most a few times a second), completing after a final state
   * (`SUCCEEDED`, `FAILED` or `CANCELLED`). The same keys rule as for `job`.
   */
  jobUpdated: Job;
};

export type SubscriptionJobUpdatedArgs = {
  id: Scalars['ID']['input'];
};

export type PromptInput = {
  /** What the video shows. Required, not blank; at most the model's token limit. */
  prompt: Scalars['String']['input'];
  /**
   * What the video should avoid, for models that use guidance. Ignored by models whose
   * `modelRules.ignoredSettings` lists `negativePrompt`, which both models Zeus runs do:
   * LTX-Video 0.9.6-distilled runs without classifier-free guidance, so it cannot change the
   * video. Still accepted, checked (length, characters) and recorded in `settings`, so existing
   * clients keep working.
   */
  negativePrompt?: InputMaybe<Scalars['String']['input']>;
  /** Width in pixels, a multiple of 32 (default 768). */
  width?: InputMaybe<Scalars['Int']['input']>;
  /** Height in pixels, a multiple of 32 (default 512). */
  height?: InputMaybe<Scalars['Int']['input']>;
  /** Number of frames, of the form 8k+1 (default 121). */
  numFrames?: InputMaybe<Scalars['Int']['input']>;
  /** Frames per second of the video (default 25). */
  frameRate?: InputMaybe<Scalars['Int']['input']>;
  /** Random seed, 0 to 2147483647; a random one is chosen and recorded when absent. */
  seed?: InputMaybe<Scalars['Int']['input']>;
  /**
   * Higher runs first: -10 to 10 (default 0); equal priorities run in submission order. With API
   * keys on, a key may raise it above 0 only as far as `ZEUS_KEY_PRIORITIES` allows it
   * (`FORBIDDEN` otherwise); any key may lower it.
   */
  priority?: InputMaybe<Scalars['Int']['input']>;
  /**
   * An http:// or https:// URL to POST the job's final state to (and each stage change, with
   * `webhookEvents: STAGES`), signed with HMAC-SHA256 (see docs/api/webhooks.md). It must reach a
   * public address unless the operator allows private ones; `BAD_USER_INPUT` when webhooks are off.
   */
  webhookUrl?: InputMaybe<Scalars['String']['input']>;
  /** Which changes `webhookUrl` is told about (default `FINAL`). */
  webhookEvents?: InputMaybe<WebhookEvents>;
  /**
   * Live previews while the job denoises (default true): `Job.previewUrl` then points at a small
   * JPEG (at most 512 pixels on its long side) of the model's current estimate of the video's
   * middle frame, renewed with the progress. False: none are made.
   */
  preview?: InputMaybe<Scalars['Boolean']['input']>;
  /**
   * Image-to-video: the id of an image uploaded with `POST /uploads` (PNG, JPEG or WebP, at most
   * `system.maxUploadBytes` bytes), to use as the video's first frame. It is centre-cropped to the
   * video's aspect ratio and scaled to its size, as the official LTX-Video script does. An unknown
   * or expired id, or another API key's upload, is `BAD_USER_INPUT` with `extensions.field`
   * `imageId`.
   */
  imageId?: InputMaybe<Scalars['ID']['input']>;
};

/** Which changes of a job its webhook receives. */
export type WebhookEvents =
  /** The final state only (`job.succeeded`, `job.failed`, `job.cancelled`). */
  | 'FINAL'
  /** Every change of stage (`job.stage`), then the final state. */
  | 'STAGES';

export type BatchInput = {
  /**
   * The settings every job of the batch shares, as for `submitPrompt`. `settings.prompt` is the
   * first prompt; `settings.seed`, when given, is the seed of every job (then leave out `seeds`
   * and `count`).
   */
  settings: PromptInput;
  /** More prompts, each generated with the same settings after `settings.prompt`. */
  prompts?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Generate each prompt once per seed. */
  seeds?: InputMaybe<Array<Scalars['Int']['input']>>;
  /** Generate each prompt this many times, each with a random seed (default 1; not with `seeds`). */
  count?: InputMaybe<Scalars['Int']['input']>;
};

/** Jobs submitted together with `submitBatch`. */
export type Batch = {
  __typename?: 'Batch';
  id: Scalars['ID']['output'];
  /** Its jobs still kept (see `Job.expiresAt`), in submission order: each prompt with each seed. */
  jobs: Array<Job>;
  createdAt: Scalars['DateTime']['output'];
};

export type JobStatus =
  /** Waiting in the queue. */
  | 'QUEUED'
  /** A worker is generating it. */
  | 'RUNNING'
  /** Finished; `videoUrl` is set. */
  | 'SUCCEEDED'
  /** Finished with an error; `error` says why. */
  | 'FAILED'
  /** Cancelled before it finished. */
  | 'CANCELLED';

export type JobStage =
  /** Waiting for a worker. */
  | 'QUEUED'
  /** The worker is loading the model. */
  | 'LOADING_MODEL'
  /** Encoding the prompt with the text encoder. */
  | 'ENCODING_PROMPT'
  /** Denoising the latent video, `step` of `totalSteps`. */
  | 'DENOISING'
  /** Decoding latents into frames and encoding the MP4. */
  | 'DECODING'
  /** Writing the MP4 file. */
  | 'SAVING'
  /** Finished (successfully or not). */
  | 'DONE';

export type Job = {
  __typename?: 'Job';
  id: Scalars['ID']['output'];
  status: JobStatus;
  stage: JobStage;
  /** Overall progress from 0 to 1. */
  progress: Scalars['Float']['output'];
  /** Denoising steps done. */
  step: Scalars['Int']['output'];
  /** Denoising steps in all. */
  totalSteps: Scalars['Int']['output'];
  /** 1 for the next job to run; null unless `QUEUED`. */
  queuePosition?: Maybe<Scalars['Int']['output']>;
  /** Path of the MP4 (`/generated/<id>/out.mp4`), relative to the server; set when `SUCCEEDED`. */
  videoUrl?: Maybe<Scalars['String']['output']>;
  /**
   * Path of the latest live preview (`/generated/<id>/preview-<step>.jpg`, a JPEG of at most 512
   * pixels on its long side), renewed with the denoising progress; null before the first one and
   * when `settings.preview` is false. It stays set once the job has finished.
   */
  previewUrl?: Maybe<Scalars['String']['output']>;
  /**
   * Path of a still of the finished video (`/generated/<id>/poster.jpg`: its first frame, a JPEG
   * of at most 640 pixels on its long side, typically 20–60 KB), for lists that show many videos
   * without loading them. Set when `SUCCEEDED`; null before, and for a video whose still could not
   * be made (or made before Zeus wrote them).
   */
  posterUrl?: Maybe<Scalars['String']['output']>;
  /** Why the job failed; set when `FAILED`. */
  error?: Maybe<JobError>;
  /** The settings it runs with, defaults and seed filled in. */
  settings: GenerationSettings;
  /** How many times a worker has started it (more than 1 after a worker crash). */
  attempts: Scalars['Int']['output'];
  /** The worker running it, or that ran its last attempt (an id of `workers`); null while queued. */
  workerId?: Maybe<Scalars['ID']['output']>;
  /** Higher runs first (-10 to 10). */
  priority: Scalars['Int']['output'];
  /**
   * Seconds until the job is expected to finish, as of this answer: for a running job from its
   * own measured steps and the installation's average stage times for its size; for a queued job
   * from the jobs ahead of it and the workers online. Null when there is nothing to go on yet
   * (no job of a similar size has finished) and once the job is over.
   */
  etaSeconds?: Maybe<Scalars['Float']['output']>;
  /** When a queued job is expected to start (see `etaSeconds`); null otherwise. */
  estimatedStartAt?: Maybe<Scalars['DateTime']['output']>;
  /** When the job is expected to finish (now + `etaSeconds`); null when `etaSeconds` is. */
  estimatedFinishAt?: Maybe<Scalars['DateTime']['output']>;
  /**
   * When the job and its video are removed (`ZEUS_RETENTION` after it finished); null while it is
   * queued or running, or when jobs are kept for ever.
   */
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  /** The job this one retries (`retryJob`), if any. */
  retryOf?: Maybe<Scalars['ID']['output']>;
  /** The batch it was submitted in (`submitBatch`), if any. */
  batchId?: Maybe<Scalars['ID']['output']>;
  /** Where its changes are POSTed, if anywhere. */
  webhook?: Maybe<Webhook>;
  /** Every attempt to deliver its webhook events, oldest first (the latest 100). */
  webhookDeliveries: Array<WebhookDelivery>;
  createdAt: Scalars['DateTime']['output'];
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  updatedAt: Scalars['DateTime']['output'];
};

export type Webhook = {
  __typename?: 'Webhook';
  url: Scalars['String']['output'];
  events: WebhookEvents;
};

/** One attempt to deliver one webhook event. */
export type WebhookDelivery = {
  __typename?: 'WebhookDelivery';
  /** The event's id (also sent as the `Zeus-Webhook-Id` header): the same on every attempt. */
  eventId: Scalars['String']['output'];
  /** `job.stage`, `job.succeeded`, `job.failed` or `job.cancelled`. */
  event: Scalars['String']['output'];
  /** 1 for the first try. */
  attempt: Scalars['Int']['output'];
  /** The receiver's HTTP status; null when it did not answer. */
  status?: Maybe<Scalars['Int']['output']>;
  /** True when the receiver answered 2xx: no more attempts for this event. */
  ok: Scalars['Boolean']['output'];
  at: Scalars['DateTime']['output'];
  /** Why the attempt failed; null when it succeeded. */
  error?: Maybe<Scalars['String']['output']>;
};

export type JobError = {
  __typename?: 'JobError';
  /** Stable machine-readable code, for example `ENCODER_FAILED`. */
  code: Scalars['String']['output'];
  /** What went wrong, in words. */
  message: Scalars['String']['output'];
};

export type GenerationSettings = {
  __typename?: 'GenerationSettings';
  prompt: Scalars['String']['output'];
  /** As sent, or the default; not used by a model that lists it in `modelRules.ignoredSettings`. */
  negativePrompt: Scalars['String']['output'];
  width: Scalars['Int']['output'];
  height: Scalars['Int']['output'];
  numFrames: Scalars['Int']['output'];
  frameRate: Scalars['Int']['output'];
  seed: Scalars['Int']['output'];
  /** Whether live previews are made. */
  preview: Scalars['Boolean']['output'];
  /** Image-to-video: the first frame the video starts from; null for text-to-video. */
  image?: Maybe<FirstFrameImage>;
};

/** The first frame of an image-to-video job, as it was uploaded. */
export type FirstFrameImage = {
  __typename?: 'FirstFrameImage';
  /** The upload's id (`POST /uploads`): other jobs can use it until it expires. */
  uploadId: Scalars['ID']['output'];
  /** `png`, `jpeg` or `webp`, as judged from the content. */
  type: Scalars['String']['output'];
  /** Width in pixels, as displayed (EXIF orientation applied). */
  width: Scalars['Int']['output'];
  /** Height in pixels, as displayed. */
  height: Scalars['Int']['output'];
  /** Size of the file in bytes. */
  bytes: Scalars['Int']['output'];
};

export type JobConnection = {
  __typename?: 'JobConnection';
  edges: Array<JobEdge>;
  pageInfo: PageInfo;
  /** Jobs in the history in all. */
  totalCount: Scalars['Int']['output'];
};

export type JobEdge = {
  __typename?: 'JobEdge';
  cursor: Scalars['String']['output'];
  node: Job;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  hasNextPage: Scalars['Boolean']['output'];
  endCursor?: Maybe<Scalars['String']['output']>;
};

export type SystemStatus = {
  __typename?: 'SystemStatus';
  /** Jobs waiting in the queue. */
  queueLength: Scalars['Int']['output'];
  /** The most jobs the queue holds (`ZEUS_MAX_QUEUED`). */
  maxQueued: Scalars['Int']['output'];
  /** Jobs being generated now. */
  running: Scalars['Int']['output'];
  /** Workers that reported a heartbeat recently. */
  workersOnline: Scalars['Int']['output'];
  /** True when at least one worker has its model loaded. */
  modelReady: Scalars['Boolean']['output'];
  /** The model the service runs. */
  model: Scalars['String']['output'];
  /** The most jobs one `submitBatch` may queue (`ZEUS_MAX_BATCH`). */
  maxBatch: Scalars['Int']['output'];
  /** The largest first-frame image `POST /uploads` accepts, in bytes (`ZEUS_MAX_UPLOAD_BYTES`). */
  maxUploadBytes: Scalars['Int']['output'];
  /** How long an upload can be used for new jobs, in seconds (`ZEUS_UPLOAD_TTL_SECONDS`). */
  uploadTtlSeconds: Scalars['Int']['output'];
  /** How long finished jobs are kept, in seconds (`ZEUS_RETENTION`); null: for ever. */
  retentionSeconds?: Maybe<Scalars['Int']['output']>;
  /**
   * Where the workers are with the model: downloading, converting, loading, ready, or failed
   * (and what to do). The most advanced worker's; null when no worker is online.
   */
  modelStatus?: Maybe<ModelStatus>;
};

/** What getting the model ready is doing, in order of progress. */
export type ModelState =
  /** Getting the model failed; the worker tries again later. `message` says why and what to do. */
  | 'FAILED'
  /** Downloading the model's files (the first start: about 16 GB for the real model). */
  | 'DOWNLOADING'
  /** Converting the weights to ONNX (once; the result is kept next to the weights). */
  | 'CONVERTING'
  /** Loading the converted model. */
  | 'LOADING'
  /** Loaded: jobs run. */
  | 'READY';

/** Whether a worker's heartbeat is fresh. */
export type WorkerStatus =
  /** It beats (every 5 s) and its last heartbeat is less than 15 s old. */
  | 'ONLINE'
  /**
   * No heartbeat for 15 s: it stopped, or it was lost (its job, if any, goes back to the queue within
   * `ZEUS_JOB_LOCK_MS` plus at most 5 s: 20 s by default). Listed for an hour after it was last seen.
   */
  | 'GONE';

/** Where one of a worker's models runs. */
export type WorkerModel = {
  __typename?: 'WorkerModel';
  /** `transformer`, `VAE decoder`, `VAE encoder` or `text encoder`. */
  component: Scalars['String']['output'];
  /** The execution provider ONNX Runtime runs it on: `cuda`, `webgpu` or `cpu`. */
  provider: Scalars['String']['output'];
  /** Its weights' precision: `fp16` or `fp32`. */
  precision: Scalars['String']['output'];
};

/** A worker process: one device (a GPU, or the CPU), one job at a time. */
export type Worker = {
  __typename?: 'Worker';
  /** Its name (`ZEUS_WORKER_ID`; on Kubernetes the pod's name), unique among workers. */
  id: Scalars['ID']['output'];
  /** The machine it runs on (`ZEUS_NODE_NAME`: on Kubernetes the node's name; else its host name). */
  host: Scalars['String']['output'];
  /**
   * Where it runs the model: the execution provider chosen (`cuda`, `webgpu` or `cpu`) once the
   * model is loaded; the `ZEUS_DEVICE` setting (`auto`, …) before.
   */
  device: Scalars['String']['output'];
  /** Where each of its models runs (the text encoder may be on the CPU); empty until loaded. */
  models: Array<WorkerModel>;
  /**
   * Why a preferred choice was not taken, in words, once the model is loaded: a provider that
   * `ZEUS_DEVICE=auto` passed over with ONNX Runtime's reason (a CUDA provider that does not
   * load), fp16 refused by the device, ONNX Runtime's fused attention replaced. Empty when the
   * device runs everything as preferred.
   */
  deviceNotices: Array<Scalars['String']['output']>;
  /** The model it runs. */
  model: Scalars['String']['output'];
  status: WorkerStatus;
  /** True while it is `ONLINE` with its model loaded: it takes jobs. */
  ready: Scalars['Boolean']['output'];
  /** Where it is with its model (downloading, converting, loading, ready, failed). */
  modelStatus?: Maybe<ModelStatus>;
  /**
   * The id of the job it is generating; null when idle or `GONE`, and, with API keys on, when the
   * job is another key's.
   */
  currentJobId?: Maybe<Scalars['ID']['output']>;
  /**
   * The job it is generating; null when idle or `GONE`, and, with API keys on, when the job is
   * another key's.
   */
  currentJob?: Maybe<Job>;
  /** Jobs it brought to `SUCCEEDED` (counted by its id, across restarts). */
  jobsDone: Scalars['Int']['output'];
  /** When it wrote its last heartbeat. */
  lastSeenAt: Scalars['DateTime']['output'];
  /** When its process started. */
  startedAt: Scalars['DateTime']['output'];
};

export type ModelStatus = {
  __typename?: 'ModelStatus';
  state: ModelState;
  /** What is happening, in words. */
  message: Scalars['String']['output'];
  /** Progress within the state, 0 to 1, when known. */
  progress?: Maybe<Scalars['Float']['output']>;
};

export type IntRange = {
  __typename?: 'IntRange';
  min: Scalars['Int']['output'];
  max: Scalars['Int']['output'];
};

/** The settings a job gets when `PromptInput` leaves them out (a missing seed is drawn at random). */
export type GenerationDefaults = {
  __typename?: 'GenerationDefaults';
  /** Not used by a model that lists it in `ModelRules.ignoredSettings`. */
  negativePrompt: Scalars['String']['output'];
  width: Scalars['Int']['output'];
  height: Scalars['Int']['output'];
  numFrames: Scalars['Int']['output'];
  frameRate: Scalars['Int']['output'];
};

export type ModelRules = {
  __typename?: 'ModelRules';
  model: Scalars['String']['output'];
  defaults: GenerationDefaults;
  /** Width and height must be multiples of this. */
  sizeMultiple: Scalars['Int']['output'];
  width: IntRange;
  height: IntRange;
  /** Frame counts must be of the form `frameStep`·k + 1. */
  frameStep: Scalars['Int']['output'];
  numFrames: IntRange;
  frameRate: IntRange;
  seed: IntRange;
  /**
   * The most text tokens a prompt (or negative prompt) may have, counting the end-of-text token,
   * with the model's tokenizer. Longer prompts are refused (`BAD_USER_INPUT`, rule `maxTokens`).
   */
  maxPromptTokens: Scalars['Int']['output'];
  /**
   * The most characters a prompt (or negative prompt) may have while the model's tokenizer is not
   * installed yet (the workers are still downloading the model); tokens are counted after that.
   */
  maxPromptChars: Scalars['Int']['output'];
  /** The most latent tokens (width/32 · height/32 · ((numFrames-1)/8 + 1)) a job may have. */
  maxLatentTokens: Scalars['Int']['output'];
  /** Denoising steps every job runs. */
  steps: Scalars['Int']['output'];
  /**
   * Settings of `PromptInput` this model accepts but does not use: the video is the same whatever
   * they hold (they are still checked and recorded, so existing clients keep working). LTX-Video
   * 0.9.6-distilled runs without classifier-free guidance, so it lists `negativePrompt`.
   */
  ignoredSettings: Array<Scalars['String']['output']>;
  /**
   * A size for each common shape, landscape to portrait: the multiples of `sizeMultiple` closest to
   * the shape whose area is nearest the default size's (what the model was trained at).
   */
  sizePresets: Array<SizePreset>;
};

/** A shape and the size the model makes it at. */
export type SizePreset = {
  __typename?: 'SizePreset';
  /** `width:height` in small numbers, for example `16:9`. */
  aspect: Scalars['String']['output'];
  width: Scalars['Int']['output'];
  height: Scalars['Int']['output'];
};

export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<
  TResult,
  TParent = Record<PropertyKey, never>,
  TContext = Record<PropertyKey, never>,
  TArgs = Record<PropertyKey, never>,
> =
  | ResolverFn<TResult, TParent, TContext, TArgs>
  | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<
  TResult,
  TKey extends string,
  TParent,
  TContext,
  TArgs,
> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<
  TResult,
  TKey extends string,
  TParent = Record<PropertyKey, never>,
  TContext = Record<PropertyKey, never>,
  TArgs = Record<PropertyKey, never>,
> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<
  TTypes,
  TParent = Record<PropertyKey, never>,
  TContext = Record<PropertyKey, never>,
> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo,
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<
  T = Record<PropertyKey, never>,
  TContext = Record<PropertyKey, never>,
> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<
  TResult = Record<PropertyKey, never>,
  TParent = Record<PropertyKey, never>,
  TContext = Record<PropertyKey, never>,
  TArgs = Record<PropertyKey, never>,
> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo,
) => TResult | Promise<TResult>;

/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  PromptInput: PromptInput;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  WebhookEvents: WebhookEvents;
  BatchInput: BatchInput;
  Batch: ResolverTypeWrapper<Omit<Batch, 'jobs'> & { jobs: Array<ResolversTypes['Job']> }>;
  JobStatus: JobStatus;
  JobStage: JobStage;
  Job: ResolverTypeWrapper<JobView>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  Webhook: ResolverTypeWrapper<Webhook>;
  WebhookDelivery: ResolverTypeWrapper<WebhookDelivery>;
  JobError: ResolverTypeWrapper<JobError>;
  GenerationSettings: ResolverTypeWrapper<StoredGenerationSettings>;
  FirstFrameImage: ResolverTypeWrapper<FirstFrameImage>;
  JobConnection: ResolverTypeWrapper<
    Omit<JobConnection, 'edges'> & { edges: Array<ResolversTypes['JobEdge']> }
  >;
  JobEdge: ResolverTypeWrapper<Omit<JobEdge, 'node'> & { node: ResolversTypes['Job'] }>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  SystemStatus: ResolverTypeWrapper<SystemStatus>;
  ModelState: ModelState;
  WorkerStatus: WorkerStatus;
  WorkerModel: ResolverTypeWrapper<WorkerModel>;
  Worker: ResolverTypeWrapper<WorkerView>;
  ModelStatus: ResolverTypeWrapper<ModelStatus>;
  IntRange: ResolverTypeWrapper<IntRange>;
  GenerationDefaults: ResolverTypeWrapper<GenerationDefaults>;
  ModelRules: ResolverTypeWrapper<ModelRules>;
  SizePreset: ResolverTypeWrapper<SizePreset>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  DateTime: Scalars['DateTime']['output'];
  Query: Record<PropertyKey, never>;
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  String: Scalars['String']['output'];
  Mutation: Record<PropertyKey, never>;
  Subscription: Record<PropertyKey, never>;
  PromptInput: PromptInput;
  Boolean: Scalars['Boolean']['output'];
  BatchInput: BatchInput;
  Batch: Omit<Batch, 'jobs'> & { jobs: Array<ResolversParentTypes['Job']> };
  Job: JobView;
  Float: Scalars['Float']['output'];
  Webhook: Webhook;
  WebhookDelivery: WebhookDelivery;
  JobError: JobError;
  GenerationSettings: StoredGenerationSettings;
  FirstFrameImage: FirstFrameImage;
  JobConnection: Omit<JobConnection, 'edges'> & { edges: Array<ResolversParentTypes['JobEdge']> };
  JobEdge: Omit<JobEdge, 'node'> & { node: ResolversParentTypes['Job'] };
  PageInfo: PageInfo;
  SystemStatus: SystemStatus;
  WorkerModel: WorkerModel;
  Worker: WorkerView;
  ModelStatus: ModelStatus;
  IntRange: IntRange;
  GenerationDefaults: GenerationDefaults;
  ModelRules: ModelRules;
  SizePreset: SizePreset;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<
  ResolversTypes['DateTime'],
  any
> {
  name: 'DateTime';
}

export type QueryResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query'],
> = {
  job?: Resolver<ResolversTypes['Job'], ParentType, ContextType, RequireFields<QueryJobArgs, 'id'>>;
  jobs?: Resolver<
    ResolversTypes['JobConnection'],
    ParentType,
    ContextType,
    RequireFields<QueryJobsArgs, 'first'>
  >;
  system?: Resolver<ResolversTypes['SystemStatus'], ParentType, ContextType>;
  workers?: Resolver<Array<ResolversTypes['Worker']>, ParentType, ContextType>;
  modelRules?: Resolver<ResolversTypes['ModelRules'], ParentType, ContextType>;
  batch?: Resolver<
    ResolversTypes['Batch'],
    ParentType,
    ContextType,
    RequireFields<QueryBatchArgs, 'id'>
  >;
  webhookSecret?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type MutationResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation'],
> = {
  submitPrompt?: Resolver<
    ResolversTypes['Job'],
    ParentType,
    ContextType,
    RequireFields<MutationSubmitPromptArgs, 'input'>
  >;
  submitBatch?: Resolver<
    ResolversTypes['Batch'],
    ParentType,
    ContextType,
    RequireFields<MutationSubmitBatchArgs, 'input'>
  >;
  cancelJob?: Resolver<
    ResolversTypes['Job'],
    ParentType,
    ContextType,
    RequireFields<MutationCancelJobArgs, 'id'>
  >;
  retryJob?: Resolver<
    ResolversTypes['Job'],
    ParentType,
    ContextType,
    RequireFields<MutationRetryJobArgs, 'id'>
  >;
};

export type SubscriptionResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription'],
> = {
  jobUpdated?: SubscriptionResolver<
    ResolversTypes['Job'],
    'jobUpdated',
    ParentType,
    ContextType,
    RequireFields<SubscriptionJobUpdatedArgs, 'id'>
  >;
};

export type BatchResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Batch'] = ResolversParentTypes['Batch'],
> = {
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  jobs?: Resolver<Array<ResolversTypes['Job']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type JobResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Job'] = ResolversParentTypes['Job'],
> = {
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['JobStatus'], ParentType, ContextType>;
  stage?: Resolver<ResolversTypes['JobStage'], ParentType, ContextType>;
  progress?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  step?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  totalSteps?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  queuePosition?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  videoUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  previewUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  posterUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['JobError']>, ParentType, ContextType>;
  settings?: Resolver<ResolversTypes['GenerationSettings'], ParentType, ContextType>;
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  workerId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  priority?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  etaSeconds?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  estimatedStartAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  estimatedFinishAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  expiresAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  retryOf?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  batchId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  webhook?: Resolver<Maybe<ResolversTypes['Webhook']>, ParentType, ContextType>;
  webhookDeliveries?: Resolver<Array<ResolversTypes['WebhookDelivery']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type WebhookResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Webhook'] = ResolversParentTypes['Webhook'],
> = {
  url?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  events?: Resolver<ResolversTypes['WebhookEvents'], ParentType, ContextType>;
};

export type WebhookDeliveryResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['WebhookDelivery'] =
    ResolversParentTypes['WebhookDelivery'],
> = {
  eventId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  event?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  attempt?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  status?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  ok?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  at?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type JobErrorResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['JobError'] = ResolversParentTypes['JobError'],
> = {
  code?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type GenerationSettingsResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['GenerationSettings'] =
    ResolversParentTypes['GenerationSettings'],
> = {
  prompt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  negativePrompt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  numFrames?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  frameRate?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  seed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  preview?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  image?: Resolver<Maybe<ResolversTypes['FirstFrameImage']>, ParentType, ContextType>;
};

export type FirstFrameImageResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['FirstFrameImage'] =
    ResolversParentTypes['FirstFrameImage'],
> = {
  uploadId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  type?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  bytes?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type JobConnectionResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['JobConnection'] = ResolversParentTypes['JobConnection'],
> = {
  edges?: Resolver<Array<ResolversTypes['JobEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type JobEdgeResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['JobEdge'] = ResolversParentTypes['JobEdge'],
> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Job'], ParentType, ContextType>;
};

export type PageInfoResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo'],
> = {
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type SystemStatusResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['SystemStatus'] = ResolversParentTypes['SystemStatus'],
> = {
  queueLength?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  maxQueued?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  running?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  workersOnline?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  modelReady?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  maxBatch?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  maxUploadBytes?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  uploadTtlSeconds?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  retentionSeconds?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  modelStatus?: Resolver<Maybe<ResolversTypes['ModelStatus']>, ParentType, ContextType>;
};

export type WorkerModelResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['WorkerModel'] = ResolversParentTypes['WorkerModel'],
> = {
  component?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  provider?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  precision?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type WorkerResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['Worker'] = ResolversParentTypes['Worker'],
> = {
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  host?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  device?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  models?: Resolver<Array<ResolversTypes['WorkerModel']>, ParentType, ContextType>;
  deviceNotices?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['WorkerStatus'], ParentType, ContextType>;
  ready?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  modelStatus?: Resolver<Maybe<ResolversTypes['ModelStatus']>, ParentType, ContextType>;
  currentJobId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  currentJob?: Resolver<Maybe<ResolversTypes['Job']>, ParentType, ContextType>;
  jobsDone?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  lastSeenAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  startedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type ModelStatusResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['ModelStatus'] = ResolversParentTypes['ModelStatus'],
> = {
  state?: Resolver<ResolversTypes['ModelState'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  progress?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type IntRangeResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['IntRange'] = ResolversParentTypes['IntRange'],
> = {
  min?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  max?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type GenerationDefaultsResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['GenerationDefaults'] =
    ResolversParentTypes['GenerationDefaults'],
> = {
  negativePrompt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  numFrames?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  frameRate?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ModelRulesResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['ModelRules'] = ResolversParentTypes['ModelRules'],
> = {
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  defaults?: Resolver<ResolversTypes['GenerationDefaults'], ParentType, ContextType>;
  sizeMultiple?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['IntRange'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['IntRange'], ParentType, ContextType>;
  frameStep?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  numFrames?: Resolver<ResolversTypes['IntRange'], ParentType, ContextType>;
  frameRate?: Resolver<ResolversTypes['IntRange'], ParentType, ContextType>;
  seed?: Resolver<ResolversTypes['IntRange'], ParentType, ContextType>;
  maxPromptTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  maxPromptChars?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  maxLatentTokens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  steps?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  ignoredSettings?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  sizePresets?: Resolver<Array<ResolversTypes['SizePreset']>, ParentType, ContextType>;
};

export type SizePresetResolvers<
  ContextType = any,
  ParentType extends ResolversParentTypes['SizePreset'] = ResolversParentTypes['SizePreset'],
> = {
  aspect?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type Resolvers<ContextType = any> = {
  DateTime?: GraphQLScalarType;
  Query?: QueryResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  Batch?: BatchResolvers<ContextType>;
  Job?: JobResolvers<ContextType>;
  Webhook?: WebhookResolvers<ContextType>;
  WebhookDelivery?: WebhookDeliveryResolvers<ContextType>;
  JobError?: JobErrorResolvers<ContextType>;
  GenerationSettings?: GenerationSettingsResolvers<ContextType>;
  FirstFrameImage?: FirstFrameImageResolvers<ContextType>;
  JobConnection?: JobConnectionResolvers<ContextType>;
  JobEdge?: JobEdgeResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  SystemStatus?: SystemStatusResolvers<ContextType>;
  WorkerModel?: WorkerModelResolvers<ContextType>;
  Worker?: WorkerResolvers<ContextType>;
  ModelStatus?: ModelStatusResolvers<ContextType>;
  IntRange?: IntRangeResolvers<ContextType>;
  GenerationDefaults?: GenerationDefaultsResolvers<ContextType>;
  ModelRules?: ModelRulesResolvers<ContextType>;
  SizePreset?: SizePresetResolvers<ContextType>;
};
