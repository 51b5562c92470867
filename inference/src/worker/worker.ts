/**
 * The worker: gets its model ready (downloading or generating the files into ZEUS_MODELS_DIR,
 * converting them once, loading them in the model thread; trying again later after a failure),
 * then takes jobs from the queue one at a time, runs the pipeline, writes the MP4 and records
 * each step of the job's progress. Announces itself with a heartbeat (with where it is with the
 * model), and on start (and every minute) repairs what a crash elsewhere may have left: stored
 * jobs missing from BullMQ are queued, running jobs BullMQ no longer holds are failed.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeRedis,
  connectRedis,
  JobConflictError,
  JobConsumer,
  JobEndWatch,
  JobQueue,
  JobStore,
  JobTimingsStore,
  latentTokens,
  ModelUnavailableError,
  modelRules,
  NotFoundError,
  openOutputStore,
  RedisKeys,
  RetentionSweeper,
  UploadStore,
  videoUrlFor,
  WorkerHeartbeats,
  type WorkerHeartbeat,
  type JobDelivery,
  type Logger,
  type ModelStatus,
} from '@zeus/core';
import {
  adoptLegacyModelDir,
  defaultModelsDir,
  ensureModelFiles,
  hubSettingsFromEnv,
  HubSettingsError,
  modelDir,
  modelSpec,
  type HubSettings,
} from '@zeus/models';
import { createPipeline } from '../pipeline/create-pipeline.ts';
import { queryGpuMemory } from '../system/gpu-memory.ts';
import type { VideoPipeline } from '../pipeline/types.ts';
import { selectVideoEncoder } from '../video/encoder-choice.ts';
import { Mp4Writer, VIDEO_FILE_NAME } from '../video/mp4-writer.ts';
import { probeNvenc } from '../video/nvenc-probe.ts';
import type { WorkerConfig } from './config.ts';
import { describeFailure } from './failures.ts';
import { JobClock } from './job-clock.ts';
import { loadFirstFrame } from './first-frame.ts';
import { WorkerMetrics } from './metrics.ts';
import { DownloadStatus, failedStatus, loadStatus } from './model-status.ts';
import { publishPoster } from './poster.ts';
import { PreviewWriter } from './previews.ts';
import { ProgressThrottle } from './progress-throttle.ts';
import { startStatusServer, type StatusServer, type WorkerHealth } from './status-server.ts';

const HEARTBEAT_INTERVAL_MS = 5_000;
/** Three missed heartbeats and the worker counts as gone. */
const HEARTBEAT_TTL_MS = 15_000;
const REPAIR_INTERVAL_MS = 60_000;
/** The longest wait between two tries at getting the model ready. */
const MAX_MODEL_RETRY_MS = 600_000;
/** How often the model's progress goes to the log while it is being got ready. */
const STATUS_LOG_INTERVAL_MS = 10_000;

/** Why a job was interrupted when the worker stops: it goes back to the queue. */
class WorkerShutdown extends Error {
  override readonly name = 'WorkerShutdown';
}

/** Why a job was interrupted when a user cancelled it (`cancelJob`): it stops, files removed. */
class JobCancelled extends Error {
  override readonly name = 'JobCancelled';
}

export interface RunningWorker {
  readonly id: string;
  /**
   * Resolves once the model is loaded and the worker takes jobs (rejects if the worker is
   * closed first). Until then the heartbeat says how far the model is.
   */
  readonly ready: Promise<void>;
  /** Stops taking jobs, hands the current one back to the queue, and disconnects. */
  close(): Promise<void>;
}

/**
 * Starts the worker: heartbeats and queue repair at once, jobs once the model is ready (see
 * `ready`). Throws ModelUnavailableError for settings that cannot work (a bad HF_TOKEN), and
 * ConfigError when ZEUS_VIDEO_ENCODER=nvenc and NVENC does not work here.
 */
export async function startWorker(config: WorkerConfig, logger: Logger): Promise<RunningWorker> {
  const workerId = config.ZEUS_WORKER_ID;
  const spec = modelSpec(config.ZEUS_MODEL);
  const rules = modelRules(config.ZEUS_MODEL);
  const modelsDir = config.ZEUS_MODELS_DIR ?? defaultModelsDir();
  // First, so settings that cannot work are reported before anything else happens.
  let hub: HubSettings | undefined;
  if (spec.kind === 'hub') {
    try {
      hub = hubSettingsFromEnv({
        HF_ENDPOINT: config.HF_ENDPOINT,
        HF_TOKEN: process.env['HF_TOKEN'],
      });
    } catch (error) {
      if (error instanceof HubSettingsError) throw new ModelUnavailableError(error.message, error);
      throw error;
    }
  }
  // Throws ConfigError when ZEUS_VIDEO_ENCODER=nvenc and NVENC does not work here.
  const video = await selectVideoEncoder(config.ZEUS_VIDEO_ENCODER, () => probeNvenc());
  logger.info(
    { encoder: video.encoder, setting: config.ZEUS_VIDEO_ENCODER, reason: video.reason },
    `videos are encoded with ${video.encoder}`,
  );

  const keys = new RedisKeys(config.ZEUS_REDIS_PREFIX);
  // Worker updates wait for Redis to come back rather than fail the job they belong to.
  const redis = connectRedis(config.REDIS_URL, { name: 'zeus-worker', role: 'background' });
  const consumerConnection = connectRedis(config.REDIS_URL, {
    name: 'zeus-worker-consumer',
    role: 'background',
  });
  // Hears at once when the running job is cancelled (a subscriber connection).
  const jobEventsConnection = connectRedis(config.REDIS_URL, {
    name: 'zeus-worker-job-events',
    role: 'background',
  });
  for (const connection of [redis, consumerConnection, jobEventsConnection]) {
    connection.on('error', (error: Error) => {
      logger.warn({ err: error.message }, 'Redis connection error');
    });
  }
  const store = new JobStore(redis, keys, { maxQueued: config.ZEUS_MAX_QUEUED });
  const queue = new JobQueue(redis, keys);
  const heartbeats = new WorkerHeartbeats(redis, keys);
  const uploads = new UploadStore(redis, keys);
  const timings = new JobTimingsStore(redis, keys);
  const jobEnds = new JobEndWatch(jobEventsConnection, keys);
  /** Videos and previews: the generated/ folder or a bucket (ZEUS_STORAGE). */
  const outputs = await openOutputStore(config, config.ZEUS_GENERATED_DIR);
  // A store that cannot be used now may be later (a bucket still being created): say so, and
  // let each job that needs it fail with STORAGE_FAILED meanwhile.
  await outputs.check().catch((error: unknown) => {
    logger.error({ err: error, storage: outputs.kind }, 'the output store cannot be used');
  });
  /** A job's outputs (its video, previews, partial files): cancel and retention. */
  const removeJobFiles = (jobId: string): Promise<void> => outputs.deleteJob(jobId);
  const sweeper =
    config.ZEUS_RETENTION === null
      ? null
      : new RetentionSweeper(store, redis, keys, {
          retentionMs: config.ZEUS_RETENTION,
          holder: workerId,
          removeFiles: removeJobFiles,
          logger,
        });
  const metrics = new WorkerMetrics({
    model: config.ZEUS_MODEL,
    device: config.ZEUS_DEVICE,
    gpuMemory: async () => {
      const memory = await queryGpuMemory(2_000);
      return memory === undefined
        ? undefined
        : { usedBytes: memory.totalBytes - memory.freeBytes, totalBytes: memory.totalBytes };
    },
  });
  let lastBeatAt: Date | null = null;

  const startedAt = new Date().toISOString();
  let modelReady = false;
  /** The execution provider ONNX Runtime chose, once the model is loaded. */
  let provider: string | null = null;
  /** Where each model runs and why a preferred choice was refused, once loaded. */
  let placement: Pick<WorkerHeartbeat, 'models' | 'deviceNotices'> = {};
  let modelStatus: ModelStatus = {
    state: 'DOWNLOADING',
    message: 'Getting the model files.',
    progress: null,
  };
  let pipeline: VideoPipeline | undefined;
  let current: { readonly jobId: string; readonly controller: AbortController } | null = null;
  let shuttingDown = false;
  /** Stops getting the model ready when the worker closes first. */
  const stopping = new AbortController();

  const beat = async (): Promise<void> => {
    try {
      await heartbeats.beat(
        {
          workerId,
          model: config.ZEUS_MODEL,
          device: config.ZEUS_DEVICE,
          provider,
          ...placement,
          modelReady,
          modelStatus,
          jobId: current?.jobId ?? null,
          pid: process.pid,
          hostname: config.ZEUS_NODE_NAME ?? hostname(),
          startedAt,
          beatAt: new Date().toISOString(),
        },
        HEARTBEAT_TTL_MS,
      );
      lastBeatAt = new Date();
      metrics.heartbeatWritten(lastBeatAt);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    }
  };
  await beat();
  const heartbeatTimer = setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);

  /** Ready for jobs, or every reason why not: Redis, the model, the heartbeat. */
  async function health(): Promise<WorkerHealth> {
    const problems: string[] = [];
    if (shuttingDown) problems.push('shutting down');
    try {
      await Promise.race([
        redis.ping(),
        sleep(1_000, undefined, { ref: false }).then(() => {
          throw new Error('no answer within 1 s');
        }),
      ]);
    } catch (error) {
      problems.push(`redis: ${(error as Error).message}`);
    }
    if (!modelReady) {
      problems.push(`model: ${modelStatus.state.toLowerCase()}: ${modelStatus.message}`);
    }
    const beatAgeMs = lastBeatAt === null ? null : Date.now() - lastBeatAt.getTime();
    if (beatAgeMs === null || beatAgeMs > HEARTBEAT_TTL_MS) {
      problems.push(
        beatAgeMs === null
          ? 'heartbeat: never written to Redis'
          : `heartbeat: last written ${Math.round(beatAgeMs / 1000)} s ago`,
      );
    }
    return {
      problems,
      details: {
        workerId,
        model: config.ZEUS_MODEL,
        device: config.ZEUS_DEVICE,
        provider,
        ...placement,
        modelStatus,
        lastHeartbeatAt: lastBeatAt?.toISOString() ?? null,
        jobId: current?.jobId ?? null,
      },
    };
  }
  // Operators' view; a worker without it still does its work, so a taken port is only logged.
  const statusAddress =
    config.ZEUS_WORKER_SOCKET === undefined
      ? { host: config.ZEUS_WORKER_HOST, port: config.ZEUS_WORKER_PORT }
      : { socket: config.ZEUS_WORKER_SOCKET };
  const statusServer: StatusServer | null = await startStatusServer({
    address: statusAddress,
    registry: metrics.registry,
    health,
    logger,
  }).catch((error: unknown) => {
    logger.error(
      { err: (error as Error).message, ...statusAddress },
      'the status server (/healthz, /metrics) could not start',
    );
    return null;
  });

  let statusLoggedAt = Number.NEGATIVE_INFINITY;
  const setStatus = (status: ModelStatus): void => {
    const changed = status.state !== modelStatus.state;
    modelStatus = status;
    // A new state is announced at once; progress within a state rides the next heartbeat.
    if (changed) void beat();
    const now = performance.now();
    if (changed || now - statusLoggedAt >= STATUS_LOG_INTERVAL_MS) {
      statusLoggedAt = now;
      logger.info({ state: status.state, progress: status.progress }, status.message);
    }
  };

  /** Files, conversion, loading; after a failure, the same again after a growing delay. */
  async function prepareModel(): Promise<VideoPipeline> {
    let delay = config.ZEUS_MODEL_RETRY_MS;
    // An install from before keeps the files in models/cache/<model>: moved, not downloaded again.
    const legacy = await adoptLegacyModelDir(modelsDir, config.ZEUS_MODEL);
    if (legacy.moved) {
      logger.info(
        { from: legacy.from, to: legacy.to },
        'moved the model files to the models folder',
      );
    } else if ('error' in legacy) {
      logger.warn(
        { from: legacy.from, to: legacy.to, err: legacy.error },
        'the model files in the old folder could not be moved: move them by hand, or set ' +
          'ZEUS_MODELS_DIR to the old folder; downloading them again meanwhile',
      );
    }
    for (;;) {
      let candidate: VideoPipeline | undefined;
      try {
        const download = new DownloadStatus();
        setStatus({ state: 'DOWNLOADING', message: 'Getting the model files.', progress: null });
        const started = performance.now();
        const files = await ensureModelFiles(spec, modelDir(modelsDir, config.ZEUS_MODEL), {
          ...(hub === undefined ? {} : { hub }),
          signal: stopping.signal,
          onProgress: (event) => {
            const status = download.update(event);
            if (status !== undefined) setStatus(status);
          },
        });
        stopping.signal.throwIfAborted();
        logger.info(
          { dir: files.dir, seconds: Math.round((performance.now() - started) / 1000) },
          'model files ready',
        );
        candidate = createPipeline({
          model: config.ZEUS_MODEL,
          files,
          device: config.ZEUS_DEVICE,
          precision: config.ZEUS_PRECISION,
          textEncoder: config.ZEUS_TEXT_ENCODER,
          vaeTiling: config.ZEUS_VAE_TILE,
          steps: rules.steps,
          onLoadProgress: (progress) => {
            // A conversion that had to change course (e.g. T5 weights kept in fp32) says so.
            if (progress.notice !== undefined) {
              logger.warn({ component: progress.component }, progress.notice);
            }
            setStatus(loadStatus(progress));
          },
          onLoaded: (info) => {
            provider = info.provider;
            placement = { models: info.models, deviceNotices: info.notices };
            // The notices were logged as warnings while loading; the summary repeats them.
            const log =
              info.notices.length > 0 ? logger.warn.bind(logger) : logger.info.bind(logger);
            log(
              {
                device: config.ZEUS_DEVICE,
                provider: info.provider,
                models: info.models.map((model) => `${model.component}: ${model.provider}`),
                notices: info.notices,
                precision: info.precision,
                textEncoder: info.textEncoder.placement,
                reason: info.textEncoder.reason,
                layers: info.transformerLayers,
                width: info.transformerWidth,
              },
              'model loaded',
            );
          },
          onThreadExit: (reason) => {
            logger.error({ reason }, 'the model thread stopped: it is restarted for the next job');
          },
          minStepMs: config.ZEUS_MIN_STEP_MS,
        });
        await candidate.load();
        stopping.signal.throwIfAborted();
        return candidate;
      } catch (error) {
        await candidate?.dispose();
        if (stopping.signal.aborted) throw stopping.signal.reason;
        logger.error({ err: error, retryInMs: delay }, 'could not get the model ready');
        setStatus(failedStatus(error, delay, { device: config.ZEUS_DEVICE, modelsDir }));
        await sleep(delay, undefined, { signal: stopping.signal });
        delay = Math.min(delay * 2, MAX_MODEL_RETRY_MS);
      }
    }
  }

  async function repair(): Promise<void> {
    // Running jobs are read before BullMQ's ids: a job that starts in between is then not
    // mistaken for a lost one.
    const runningJobs = (
      await Promise.all((await store.runningIds()).map((id) => store.get(id)))
    ).flatMap((job) => (job?.status === 'RUNNING' ? [job] : []));
    const queuedIds = await store.queuedIds();
    const pending = await queue.pendingIds();
    for (const id of queuedIds) {
      if (pending.has(id)) continue;
      logger.warn({ jobId: id }, 'queued job missing from BullMQ: queueing it');
      await queue.add(id, (await store.get(id))?.priority ?? 0);
    }
    for (const job of runningJobs) {
      if (pending.has(job.id)) continue;
      logger.warn({ jobId: job.id }, 'running job no longer held by BullMQ: failing it');
      await store
        .update(job.id, {
          type: 'fail',
          attempt: job.attempts,
          code: 'WORKER_LOST',
          message: 'The worker generating this job stopped, and the job could not be resumed.',
        })
        .catch(ignoreConflict);
    }
  }
  const runRepair = (): void => {
    repair().catch((error: unknown) => {
      logger.error({ err: error }, 'queue repair failed');
    });
  };
  await repair();
  const repairTimer = setInterval(runRepair, REPAIR_INTERVAL_MS);
  sweeper?.start();

  async function runJob(delivery: JobDelivery): Promise<void> {
    const { jobId } = delivery;
    let job;
    const model = pipeline;
    if (model === undefined) throw new Error('A job was delivered before the model was ready');
    try {
      job = await store.update(jobId, {
        type: 'start',
        workerId,
        totalSteps: model.totalSteps,
      });
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof JobConflictError) {
        logger.warn({ jobId, reason: error.message }, 'skipping a delivered job');
        return;
      }
      throw error;
    }
    const { attempts: attempt, settings } = job;
    const jobLogger = logger.child({ jobId, attempt });
    metrics.jobStarted();
    const controller = new AbortController();
    current = { jobId, controller };
    if (shuttingDown) controller.abort(new WorkerShutdown());
    void beat();
    jobLogger.info({ settings }, 'job started');
    const started = performance.now();
    const tokens = latentTokens(rules, settings);
    const clock = new JobClock(
      await timings.forWorker(config.ZEUS_MODEL, tokens, workerId).catch(() => null),
      model.totalSteps,
    );
    /** When the cancel was heard, to log how soon the job stopped. */
    const cancel: { at: number | null } = { at: null };
    const cancelled = (): void => {
      cancel.at ??= performance.now();
      controller.abort(new JobCancelled());
    };
    const stopWatching = await jobEnds
      .watch(jobId, (ended) => {
        if (ended.status === 'CANCELLED') cancelled();
      })
      .catch((error: unknown) => {
        jobLogger.warn({ err: error }, 'cannot listen for a cancel: noticed at the next update');
        return null;
      });
    // Cancelled before we listened: stop now.
    if ((await store.get(jobId))?.status === 'CANCELLED') cancelled();

    const progress = new ProgressThrottle({
      intervalMs: config.ZEUS_PROGRESS_INTERVAL_MS,
      publish: async (update) => {
        // The estimate as of now, when the update is written (a throttled one comes later).
        await store.update(jobId, {
          type: 'progress',
          attempt,
          ...update,
          etaSeconds: clock.remaining(),
        });
      },
      // The job was taken over or finished elsewhere: stop working on it.
      onError: (error) => {
        controller.abort(error);
      },
    });
    let writer: Mp4Writer | null = null;
    let previews: PreviewWriter | null = null;
    try {
      // The MP4 is made in a local file (the job's folder, or a temporary one for a bucket).
      const directory = outputs.stagingDirectory(jobId);
      writer = await Mp4Writer.open({
        directory,
        width: settings.width,
        height: settings.height,
        frameRate: settings.frameRate,
        encoder: video.encoder,
        expectedFrames: settings.numFrames,
      });
      const firstFrame =
        settings.image === undefined ? undefined : await loadFirstFrame(uploads, jobId, settings);
      if (settings.preview !== false) {
        previews = new PreviewWriter({
          jobId,
          outputs,
          video: settings,
          intervalMs: config.ZEUS_PROGRESS_INTERVAL_MS,
          onWritten: (url) => {
            progress.offerPreview(url);
          },
          onError: (error) => {
            jobLogger.warn({ err: error }, 'live previews stopped: they could not be written');
          },
        });
      }
      const previewWriter = previews;
      await model.generate(settings, {
        onProgress: ({ stage, step }) => {
          metrics.stage(stage);
          clock.mark(stage, step);
          progress.offer({ stage, step });
        },
        frames: writer,
        signal: controller.signal,
        ...(firstFrame === undefined ? {} : { firstFrame }),
        ...(previewWriter === null
          ? {}
          : {
              onPreview: (preview) => {
                previewWriter.offer(preview);
              },
            }),
      });
      await previews?.flush();
      controller.signal.throwIfAborted();
      metrics.stage('SAVING');
      clock.mark('SAVING', model.totalSteps);
      progress.offer({ stage: 'SAVING', step: model.totalSteps });
      const videoFile = await writer.finish();
      // Read from the staging file, before publishing moves or uploads it.
      const posterUrl = await publishPoster({ outputs, jobId, videoFile, logger: jobLogger });
      await outputs.publishFile(jobId, VIDEO_FILE_NAME, videoFile, 'video/mp4');
      await progress.flush();
      await store.update(jobId, {
        type: 'succeed',
        attempt,
        videoUrl: videoUrlFor(jobId),
        posterUrl,
      });
      const measured = clock.measured();
      if (measured !== null) {
        await timings
          .record(config.ZEUS_MODEL, tokens, measured, workerId)
          .catch((error: unknown) => {
            jobLogger.warn({ err: error }, 'could not record the stage timings');
          });
      }
      if (settings.image !== undefined) {
        await uploads.removeJobImage(jobId).catch((error: unknown) => {
          jobLogger.warn({ err: error }, 'could not remove the first-frame image (it expires)');
        });
      }
      await heartbeats.jobDone(workerId).catch((error: unknown) => {
        jobLogger.warn({ err: error }, "could not count the job in the worker's jobs done");
      });
      metrics.jobEnded('succeeded');
      jobLogger.info({ seconds: (performance.now() - started) / 1000 }, 'job succeeded');
    } catch (error) {
      progress.close();
      // A preview being written must land before the job's files may be removed (a cancel).
      await previews?.close();
      await writer?.abort();
      const cause: unknown = controller.signal.aborted ? controller.signal.reason : error;
      if (cause instanceof WorkerShutdown) {
        metrics.jobEnded('released');
        jobLogger.info('worker stopping: handing the job back to the queue');
        await delivery.release();
      }
      // Cancelled: heard on the job's channel, or found so by an update (even after the video
      // was written, when the cancel came while saving it).
      if (
        cause instanceof JobCancelled ||
        (cause instanceof JobConflictError &&
          (await store.get(jobId).catch(() => null))?.status === 'CANCELLED')
      ) {
        await removeJobFiles(jobId).catch((removeError: unknown) => {
          jobLogger.error({ err: removeError }, "could not remove a cancelled job's files");
        });
        metrics.jobEnded('cancelled');
        jobLogger.info(
          {
            ...clock.position,
            stoppedInMs: cancel.at === null ? null : Math.round(performance.now() - cancel.at),
          },
          'job cancelled: stopped, its files removed',
        );
        return;
      }
      if (cause instanceof JobConflictError) {
        metrics.jobEnded('superseded');
        jobLogger.warn(
          { reason: cause.reason },
          "the job is no longer this attempt's to run: stopped",
        );
        return;
      }
      const failure = describeFailure(error);
      metrics.jobEnded('failed', failure.code);
      jobLogger.error(
        {
          err: error,
          code: failure.code,
          ...(failure.hint === undefined ? {} : { hint: failure.hint }),
        },
        'job failed',
      );
      await store
        .update(jobId, { type: 'fail', attempt, code: failure.code, message: failure.message })
        .catch(ignoreConflict);
    } finally {
      await stopWatching?.();
      await outputs.releaseStaging(jobId).catch((error: unknown) => {
        jobLogger.warn({ err: error }, "could not remove the job's staging folder");
      });
      current = null;
      void beat();
    }
  }

  const consume = (): JobConsumer =>
    new JobConsumer(
      consumerConnection,
      keys,
      {
        process: runJob,
        onGaveUp: (jobId, reason) => {
          const stalled = /stalled/.test(reason);
          logger.error({ jobId, reason }, 'BullMQ gave up on a job');
          store
            .update(jobId, {
              type: 'fail',
              code: stalled ? 'WORKER_LOST' : 'INTERNAL_ERROR',
              message: stalled
                ? 'The workers generating this job stopped too many times; it was given up.'
                : 'The worker could not run this job.',
            })
            .catch(ignoreConflict)
            .catch((error: unknown) => {
              logger.error({ err: error, jobId }, 'could not record a given-up job');
            });
        },
        onStalled: (jobId) => {
          logger.warn({ jobId }, 'a worker was lost mid-job: the job goes back to the queue');
        },
        onError: (error) => {
          logger.error({ err: error }, 'queue consumer error');
        },
      },
      {
        lockDurationMs: config.ZEUS_JOB_LOCK_MS,
        maxStalledCount: config.ZEUS_MAX_JOB_RETRIES,
      },
    );

  let consumer: JobConsumer | undefined;
  const ready = (async () => {
    logger.info(
      { model: config.ZEUS_MODEL, device: config.ZEUS_DEVICE, modelsDir },
      'getting the model ready',
    );
    const loadStarted = performance.now();
    pipeline = await prepareModel();
    modelReady = true;
    metrics.setModelReady(true);
    modelStatus = { state: 'READY', message: 'The model is loaded.', progress: null };
    logger.info({ seconds: Math.round((performance.now() - loadStarted) / 1000) }, 'model ready');
    await beat();
    consumer = consume();
    await consumer.ready();
    logger.info('worker ready for jobs');
  })();
  // Closing first rejects it; nobody has to be waiting.
  ready.catch(() => undefined);

  let closing: Promise<void> | null = null;
  return {
    id: workerId,
    ready,
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        clearInterval(repairTimer);
        await sweeper?.stop();
        stopping.abort(new WorkerShutdown('the worker stopped before its model was ready'));
        await ready.catch(() => undefined);
        const consumerClosed = consumer?.close();
        current?.controller.abort(new WorkerShutdown());
        await consumerClosed;
        clearInterval(heartbeatTimer);
        await heartbeats.remove(workerId).catch(() => undefined);
        await pipeline?.dispose();
        await outputs.close();
        await queue.close();
        await Promise.all([
          closeRedis(redis),
          closeRedis(consumerConnection),
          closeRedis(jobEventsConnection),
        ]);
        await statusServer?.close();
      })();
      return closing;
    },
  };
}

/** Conflicts mean someone else already settled the job: nothing to do. */
function ignoreConflict(error: unknown): void {
  if (!(error instanceof JobConflictError)) throw error;
}
