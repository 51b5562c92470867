/**
 * @zeus/core's public surface: the names the other packages use, chosen here rather than every
 * export of every module. A name missing here is core's own; add it when another package needs
 * it. The subpath `@zeus/core/model-rules` (package.json) gives the model names and rules alone,
 * to a consumer that should not load the rest (Redis, BullMQ, sharp).
 */
export {
  ConfigError,
  ForbiddenError,
  InvalidInputError,
  JobConflictError,
  type JobErrorCode,
  JobFailure,
  JobStatusError,
  ModelUnavailableError,
  NotFoundError,
  UnauthenticatedError,
  ZeusError,
} from './errors.ts';
export { loadConfig } from './config.ts';
export {
  booleanVariable,
  integerVariable,
  logSettings,
  modelSettings,
  parsedVariable,
  portVariable,
  queueSettings,
  redisSettings,
  redisUrlVariable,
  retentionSettings,
  socketPathVariable,
} from './settings.ts';
export { createLogger, type Logger } from './logger.ts';
export { latentTokens, type ModelName, modelRules, type ModelRules } from './model-rules.ts';
export { randomSeed, type TokenCounter } from './validation.ts';
export {
  type FirstFrameImage,
  type GenerationSettings,
  isFinalStatus,
  type Job,
  type JobStatus,
  type JobView,
  previewUrlFor,
  videoUrlFor,
  type WorkStage,
} from './job.ts';
export { applyJobEvent, newJob } from './job-state.ts';
export {
  closeRedis,
  connectRedis,
  type Redis,
  redisAddress,
  type RedisRole,
  redisSocketUrl,
} from './redis.ts';
export {
  boundAddress,
  claimSocketPath,
  listen,
  type ListenAddress,
  MAX_SOCKET_PATH_BYTES,
} from './listen.ts';
export { RedisKeys } from './redis-keys.ts';
export { isJobId } from './job-record.ts';
export { type BatchRecord, JobStore } from './job-store.ts';
export { MAX_SEARCH_CHARS, searchText } from './job-search.ts';
export { JobConsumer, type JobDelivery, JobQueue, lostJobReturnBoundMs } from './job-queue.ts';
export {
  type WebhookAttempt,
  WebhookConsumer,
  type WebhookOutcome,
  WebhookQueue,
} from './webhook-queue.ts';
export { JobUpdateRelay } from './job-updates.ts';
export { parseRateLimit, RedisRateLimiter } from './rate-limit.ts';
export { type WorkerHeartbeat, WorkerHeartbeats, type WorkerView } from './worker-heartbeats.ts';
export { type ModelStatus, serviceModelStatus } from './model-status.ts';
export { EXIT_CONFIG, loadConfigOrExit, onShutdown } from './process-lifecycle.ts';
export {
  decodeImageRgb,
  encodeJpeg,
  ImageRejectedError,
  inspectImage,
  type RgbImage,
} from './images.ts';
export {
  type KeyPriorities,
  maxPriorityFor,
  parseKeyPriorities,
  requirePriorityAllowed,
} from './priority.ts';
export { expiresAt } from './retention.ts';
export {
  jobSeconds,
  type MeasuredTimings,
  queueStarts,
  remainingSeconds,
  type RunningState,
  type StageTimings,
  timingsFor,
  type TimingTable,
  workersBusyFor,
} from './eta.ts';
export {
  signWebhook,
  verifyWebhook,
  WEBHOOK_HEADERS,
  webhookAddressProblem,
  webhookSecretFor,
} from './webhooks.ts';
export { addressIdentity } from './client-address.ts';
export { JobTimingsStore } from './job-timings.ts';
export { JobEndWatch } from './job-end-watch.ts';
export { RetentionSweeper } from './retention-sweeper.ts';
export {
  type BatchRequest,
  type Submission,
  type SubmissionRequest,
  type SubmissionRules,
  validateBatch,
  validateSubmission,
} from './submission.ts';
export { UploadStore } from './uploads.ts';
export {
  outputPath,
  OUTPUTS_PATH,
  type OutputStore,
  parseOutputPath,
  parseRangeHeader,
  RangeNotSatisfiableError,
  StorageError,
} from './output-store.ts';
export {
  checkOutputLink,
  LINK_LIFETIME_MS,
  outputLinkSecret,
  outputOfUri,
  signOutputLink,
  type OutputLinkCheck,
} from './output-links.ts';
export { LocalOutputStore } from './local-output-store.ts';
export {
  checkStorageSettings,
  openOutputStore,
  type S3Delivery,
  storageEnvironment,
  storageSettings,
} from './storage-settings.ts';
