/**
 * Runs one delivered job: marks it started, listens for its cancel, runs the pipeline into an
 * MP4 (with live previews and throttled progress), publishes the video and its poster, and
 * records the job's end. A run that stops early ends as job-outcome.ts tells: handed back to the queue (the worker
 * stops), cancelled (files removed), superseded (another attempt owns it) or failed.
 */
import {
  JobConflictError,
  latentTokens,
  NotFoundError,
  videoUrlFor,
  type GenerationSettings,
  type Job,
  type JobDelivery,
  type JobEndWatch,
  type JobStore,
  type JobTimingsStore,
  type Logger,
  type ModelName,
  type ModelRules,
  type OutputStore,
  type UploadStore,
  type WorkerHeartbeats,
} from '@zeus/core';
import type { VideoPipeline } from '../pipeline/types.ts';
import type { VideoEncoder } from '../video/ffmpeg-args.ts';
import { Mp4Writer, VIDEO_FILE_NAME } from '../video/mp4-writer.ts';
import { loadFirstFrame } from './first-frame.ts';
import { JobClock } from './job-clock.ts';
import {
  classifyJobEnd,
  ignoreConflict,
  JobCancelled,
  needsStoredStatus,
  stopCause,
  WorkerShutdown,
} from './job-outcome.ts';
import type { WorkerMetrics } from './metrics.ts';
import { publishPoster } from './poster.ts';
import { PreviewWriter } from './previews.ts';
import { ProgressThrottle } from './progress-throttle.ts';

export interface JobRunnerOptions {
  readonly workerId: string;
  readonly model: ModelName;
  readonly rules: ModelRules;
  readonly encoder: VideoEncoder;
  /** `ZEUS_PROGRESS_INTERVAL_MS`: the least time between two progress updates, or previews. */
  readonly progressIntervalMs: number;
  /** The loaded model; jobs are taken only once there is one. */
  readonly pipeline: () => VideoPipeline | undefined;
  /** A job that starts while the worker stops goes back to the queue at once. */
  readonly shuttingDown: () => boolean;
  /** The current job changed: to be announced at once (a heartbeat). */
  readonly onJobChange: () => void;
  readonly store: JobStore;
  readonly uploads: UploadStore;
  readonly timings: JobTimingsStore;
  readonly jobEnds: JobEndWatch;
  readonly heartbeats: WorkerHeartbeats;
  /** Videos and previews: the generated/ folder or a bucket (ZEUS_STORAGE). */
  readonly outputs: OutputStore;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
}

/** One run of a job, from its start to its end. */
interface Run {
  readonly delivery: JobDelivery;
  readonly jobId: string;
  readonly attempt: number;
  readonly settings: GenerationSettings;
  readonly model: VideoPipeline;
  readonly controller: AbortController;
  readonly clock: JobClock;
  readonly tokens: number;
  readonly progress: ProgressThrottle;
  readonly logger: Logger;
  readonly startedAt: number;
  /** When the cancel was heard, to log how soon the job stopped. */
  readonly cancel: { at: number | null };
  writer: Mp4Writer | null;
  previews: PreviewWriter | null;
}

export class JobRunner {
  private current: { readonly jobId: string; readonly controller: AbortController } | null = null;

  constructor(private readonly options: JobRunnerOptions) {}

  get currentJobId(): string | null {
    return this.current?.jobId ?? null;
  }

  /** Stops the running job, if any: it goes back to the queue. */
  handBack(): void {
    this.current?.controller.abort(new WorkerShutdown());
  }

  /** Runs a delivered job to its end; throws only what is unexpected (BullMQ gives it up). */
  readonly run = async (delivery: JobDelivery): Promise<void> => {
    const { store, timings, jobEnds, metrics } = this.options;
    const { jobId } = delivery;
    const model = this.options.pipeline();
    if (model === undefined) throw new Error('A job was delivered before the model was ready');
    const job = await this.start(jobId, model);
    if (job === null) return;
    const { attempts: attempt, settings } = job;
    const jobLogger = this.options.logger.child({ jobId, attempt });
    metrics.jobStarted();
    const controller = new AbortController();
    this.current = { jobId, controller };
    if (this.options.shuttingDown()) controller.abort(new WorkerShutdown());
    this.options.onJobChange();
    jobLogger.info({ settings }, 'job started');
    const startedAt = performance.now();
    const tokens = latentTokens(this.options.rules, settings);
    const clock = new JobClock(
      await timings.forWorker(this.options.model, tokens, this.options.workerId).catch(() => null),
      model.totalSteps,
    );
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
      intervalMs: this.options.progressIntervalMs,
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
    const run: Run = {
      delivery,
      jobId,
      attempt,
      settings,
      model,
      controller,
      clock,
      tokens,
      progress,
      logger: jobLogger,
      startedAt,
      cancel,
      writer: null,
      previews: null,
    };
    try {
      const posterUrl = await this.generate(run);
      await this.succeeded(run, posterUrl);
    } catch (error) {
      await this.stopped(run, error);
    } finally {
      await stopWatching?.();
      await this.options.outputs.releaseStaging(jobId).catch((error: unknown) => {
        jobLogger.warn({ err: error }, "could not remove the job's staging folder");
      });
      this.current = null;
      this.options.onJobChange();
    }
  };

  /** Marks the job started by this worker; null for a job that is not to run (gone, or taken). */
  private async start(jobId: string, model: VideoPipeline): Promise<Job | null> {
    try {
      return await this.options.store.update(jobId, {
        type: 'start',
        workerId: this.options.workerId,
        totalSteps: model.totalSteps,
      });
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof JobConflictError) {
        this.options.logger.warn({ jobId, reason: error.message }, 'skipping a delivered job');
        return null;
      }
      throw error;
    }
  }

  /**
   * The pipeline's frames into an MP4, published with the job's outputs and its poster; the
   * poster's URL, or null when it could not be made.
   */
  private async generate(run: Run): Promise<string | null> {
    const { outputs, uploads, metrics } = this.options;
    const { jobId, settings, model, progress, clock, controller } = run;
    // The MP4 is made in a local file (the job's folder, or a temporary one for a bucket).
    const directory = outputs.stagingDirectory(jobId);
    const writer = await Mp4Writer.open({
      directory,
      width: settings.width,
      height: settings.height,
      frameRate: settings.frameRate,
      encoder: this.options.encoder,
      expectedFrames: settings.numFrames,
    });
    run.writer = writer;
    const firstFrame =
      settings.image === undefined ? undefined : await loadFirstFrame(uploads, jobId, settings);
    if (settings.preview !== false) {
      run.previews = new PreviewWriter({
        jobId,
        outputs,
        video: settings,
        intervalMs: this.options.progressIntervalMs,
        onWritten: (url) => {
          progress.offerPreview(url);
        },
        onError: (error) => {
          run.logger.warn({ err: error }, 'live previews stopped: they could not be written');
        },
      });
    }
    const previewWriter = run.previews;
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
    await previewWriter?.flush();
    controller.signal.throwIfAborted();
    metrics.stage('SAVING');
    clock.mark('SAVING', model.totalSteps);
    progress.offer({ stage: 'SAVING', step: model.totalSteps });
    const videoFile = await writer.finish();
    // Read from the staging file, before publishing moves or uploads it.
    const posterUrl = await publishPoster({ outputs, jobId, videoFile, logger: run.logger });
    await outputs.publishFile(jobId, VIDEO_FILE_NAME, videoFile, 'video/mp4');
    await progress.flush();
    return posterUrl;
  }

  /** SUCCEEDED, then the bookkeeping: stage timings, the first frame, the worker's count. */
  private async succeeded(run: Run, posterUrl: string | null): Promise<void> {
    const { store, timings, uploads, heartbeats, metrics, workerId } = this.options;
    const { jobId, attempt, logger } = run;
    await store.update(jobId, {
      type: 'succeed',
      attempt,
      videoUrl: videoUrlFor(jobId),
      posterUrl,
    });
    const measured = run.clock.measured();
    if (measured !== null) {
      await timings
        .record(this.options.model, run.tokens, measured, workerId)
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'could not record the stage timings');
        });
    }
    if (run.settings.image !== undefined) {
      await uploads.removeJobImage(jobId).catch((error: unknown) => {
        logger.warn({ err: error }, 'could not remove the first-frame image (it expires)');
      });
    }
    await heartbeats.jobDone(workerId).catch((error: unknown) => {
      logger.warn({ err: error }, "could not count the job in the worker's jobs done");
    });
    metrics.jobEnded('succeeded');
    logger.info({ seconds: (performance.now() - run.startedAt) / 1000 }, 'job succeeded');
  }

  /** A run that threw: stopped cleanly, then ended as job-outcome.ts tells. */
  private async stopped(run: Run, error: unknown): Promise<void> {
    const { store, outputs, metrics } = this.options;
    const { jobId, attempt, logger } = run;
    run.progress.close();
    // A preview being written must land before the job's files may be removed (a cancel).
    await run.previews?.close();
    await run.writer?.abort();
    const cause = stopCause(error, run.controller.signal);
    const storedStatus = needsStoredStatus(cause)
      ? ((await store.get(jobId).catch(() => null))?.status ?? null)
      : null;
    const end = classifyJobEnd({ error, cause, storedStatus });
    switch (end.outcome) {
      case 'released':
        metrics.jobEnded('released');
        logger.info('worker stopping: handing the job back to the queue');
        // Ends this delivery by throwing: BullMQ neither completes nor fails the job.
        await run.delivery.release();
        return;
      case 'cancelled':
        await outputs.deleteJob(jobId).catch((removeError: unknown) => {
          logger.error({ err: removeError }, "could not remove a cancelled job's files");
        });
        metrics.jobEnded('cancelled');
        logger.info(
          {
            ...run.clock.position,
            stoppedInMs:
              run.cancel.at === null ? null : Math.round(performance.now() - run.cancel.at),
          },
          'job cancelled: stopped, its files removed',
        );
        return;
      case 'superseded':
        metrics.jobEnded('superseded');
        logger.warn({ reason: end.reason }, "the job is no longer this attempt's to run: stopped");
        return;
      case 'failed': {
        const { failure } = end;
        metrics.jobEnded('failed', failure.code);
        logger.error(
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
      }
    }
  }
}
