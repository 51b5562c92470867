/**
 * The worker: gets its model ready (model-readiness.ts), then takes jobs from the queue one at
 * a time (job-consumer.ts) and runs each into an MP4 (job-runner.ts). Announces itself with a
 * heartbeat (heartbeat.ts), answers operators on its status server (health.ts, metrics.ts), and
 * on start and every minute repairs what a crash elsewhere may have left (queue-repair.ts). This
 * module only wires them together.
 */
import { modelRules, type JobConsumer, type Logger } from '@zeus/core';
import { defaultModelsDir, modelSpec } from '@zeus/models';
import { queryGpuMemory } from '../system/gpu-memory.ts';
import { selectVideoEncoder } from '../video/encoder-choice.ts';
import { probeNvenc } from '../video/nvenc-probe.ts';
import type { WorkerConfig } from './config.ts';
import { checkWorkerHealth } from './health.ts';
import { Heartbeat } from './heartbeat.ts';
import { consumeJobs } from './job-consumer.ts';
import { WorkerShutdown } from './job-outcome.ts';
import { JobRunner } from './job-runner.ts';
import { WorkerMetrics } from './metrics.ts';
import { hubSettingsFor, ModelReadiness } from './model-readiness.ts';
import { startQueueRepair } from './queue-repair.ts';
import { startStatusServer, type StatusServer } from './status-server.ts';
import { openWorkerServices } from './worker-services.ts';

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
  const hub = hubSettingsFor(spec, config);
  const video = await selectVideoEncoder(config.ZEUS_VIDEO_ENCODER, () => probeNvenc());
  logger.info(
    { encoder: video.encoder, setting: config.ZEUS_VIDEO_ENCODER, reason: video.reason },
    `videos are encoded with ${video.encoder}`,
  );
  const services = await openWorkerServices(config, logger);
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
  let shuttingDown = false;
  const readiness = new ModelReadiness({
    config,
    spec,
    hub,
    modelsDir,
    steps: rules.steps,
    metrics,
    onStateChange: () => void heartbeat.beat(),
    logger,
  });
  const jobs = new JobRunner({
    ...services,
    workerId,
    model: config.ZEUS_MODEL,
    rules,
    encoder: video.encoder,
    progressIntervalMs: config.ZEUS_PROGRESS_INTERVAL_MS,
    pipeline: () => readiness.pipeline,
    shuttingDown: () => shuttingDown,
    onJobChange: () => void heartbeat.beat(),
    metrics,
    logger,
  });
  const heartbeat = new Heartbeat({
    heartbeats: services.heartbeats,
    workerId,
    model: config.ZEUS_MODEL,
    device: config.ZEUS_DEVICE,
    nodeName: config.ZEUS_NODE_NAME,
    state: () => ({
      provider: readiness.provider,
      ...readiness.placement,
      modelReady: readiness.ready,
      modelStatus: readiness.status,
      jobId: jobs.currentJobId,
    }),
    metrics,
    logger,
  });
  await heartbeat.start();
  // Operators' view; a worker without it still does its work, so a taken port is only logged.
  const statusAddress =
    config.ZEUS_WORKER_SOCKET === undefined
      ? { host: config.ZEUS_WORKER_HOST, port: config.ZEUS_WORKER_PORT }
      : { socket: config.ZEUS_WORKER_SOCKET };
  const statusServer: StatusServer | null = await startStatusServer({
    address: statusAddress,
    registry: metrics.registry,
    health: () =>
      checkWorkerHealth({
        workerId,
        model: config.ZEUS_MODEL,
        device: config.ZEUS_DEVICE,
        redis: services.redis,
        shuttingDown: () => shuttingDown,
        readiness,
        heartbeat,
        jobs,
      }),
    logger,
  }).catch((error: unknown) => {
    logger.error(
      { err: (error as Error).message, ...statusAddress },
      'the status server (/healthz, /metrics) could not start',
    );
    return null;
  });
  const repair = await startQueueRepair({ ...services, logger });
  services.sweeper?.start();

  let consumer: JobConsumer | undefined;
  const ready = (async () => {
    await readiness.load();
    await heartbeat.beat();
    consumer = consumeJobs({
      connection: services.consumerConnection,
      keys: services.keys,
      store: services.store,
      run: jobs.run,
      config,
      logger,
    });
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
        repair.stop();
        await services.sweeper?.stop();
        readiness.stop(new WorkerShutdown('the worker stopped before its model was ready'));
        await ready.catch(() => undefined);
        const consumerClosed = consumer?.close();
        jobs.handBack();
        await consumerClosed;
        await heartbeat.stop();
        await readiness.dispose();
        await services.close();
        await statusServer?.close();
      })();
      return closing;
    },
  };
}
