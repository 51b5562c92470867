/**
 * Getting the worker's model ready: the files (downloaded from the Hub or generated into
 * ZEUS_MODELS_DIR), converted once, loaded in the model thread; after a failure, the same again
 * after a growing delay, until it works or the worker stops. Each step's status is what the
 * heartbeat and `/healthz` say meanwhile (model-status.ts words them).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelUnavailableError, type Logger, type ModelStatus } from '@zeus/core';
import {
  adoptLegacyModelDir,
  ensureModelFiles,
  hubSettingsFromEnv,
  HubSettingsError,
  modelDir,
  type HubSettings,
  type ModelSpec,
} from '@zeus/models';
import { createPipeline } from '../pipeline/create-pipeline.ts';
import type { VideoPipeline } from '../pipeline/types.ts';
import type { WorkerConfig } from './config.ts';
import type { ModelPlacement } from './heartbeat.ts';
import type { WorkerMetrics } from './metrics.ts';
import { DownloadStatus, failedStatus, loadStatus } from './model-status.ts';

/** The longest wait between two tries at getting the model ready. */
const MAX_MODEL_RETRY_MS = 600_000;
/** How often the model's progress goes to the log while it is being got ready. */
const STATUS_LOG_INTERVAL_MS = 10_000;

/**
 * The Hub settings a Hub model is downloaded with (none for a generated one). Throws
 * ModelUnavailableError for settings that cannot work (a bad HF_TOKEN).
 */
export function hubSettingsFor(
  spec: ModelSpec,
  config: Pick<WorkerConfig, 'HF_ENDPOINT'>,
): HubSettings | undefined {
  if (spec.kind !== 'hub') return undefined;
  try {
    return hubSettingsFromEnv({
      HF_ENDPOINT: config.HF_ENDPOINT,
      HF_TOKEN: process.env['HF_TOKEN'],
    });
  } catch (error) {
    if (error instanceof HubSettingsError) throw new ModelUnavailableError(error.message, error);
    throw error;
  }
}

export interface ModelReadinessOptions {
  readonly config: Pick<
    WorkerConfig,
    | 'ZEUS_MODEL'
    | 'ZEUS_DEVICE'
    | 'ZEUS_PRECISION'
    | 'ZEUS_TEXT_ENCODER'
    | 'ZEUS_VAE_TILE'
    | 'ZEUS_MODEL_RETRY_MS'
    | 'ZEUS_MIN_STEP_MS'
  >;
  readonly spec: ModelSpec;
  readonly hub: HubSettings | undefined;
  readonly modelsDir: string;
  /** The sampler's steps (the model's rules). */
  readonly steps: number;
  readonly metrics: Pick<WorkerMetrics, 'setModelReady'>;
  /** The status moved to another state: to be announced at once (a heartbeat). */
  readonly onStateChange: () => void;
  readonly logger: Logger;
}

export class ModelReadiness {
  private current: ModelStatus = {
    state: 'DOWNLOADING',
    message: 'Getting the model files.',
    progress: null,
  };
  private loaded: VideoPipeline | undefined;
  private loadedProvider: string | null = null;
  private loadedPlacement: ModelPlacement = {};
  private statusLoggedAt = Number.NEGATIVE_INFINITY;
  /** Stops getting the model ready when the worker closes first. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: ModelReadinessOptions) {}

  get status(): ModelStatus {
    return this.current;
  }

  get ready(): boolean {
    return this.loaded !== undefined;
  }

  /** The execution provider ONNX Runtime chose, once the model is loaded. */
  get provider(): string | null {
    return this.loadedProvider;
  }

  /** Where each model runs and why a preferred choice was refused, once loaded. */
  get placement(): ModelPlacement {
    return this.loadedPlacement;
  }

  /** The loaded model, once ready. */
  get pipeline(): VideoPipeline | undefined {
    return this.loaded;
  }

  /** Gets the model ready, however many tries it takes; rejects only when stopped first. */
  async load(): Promise<VideoPipeline> {
    const { config, modelsDir, logger } = this.options;
    logger.info(
      { model: config.ZEUS_MODEL, device: config.ZEUS_DEVICE, modelsDir },
      'getting the model ready',
    );
    const loadStarted = performance.now();
    const pipeline = await this.prepare();
    this.loaded = pipeline;
    this.options.metrics.setModelReady(true);
    this.current = { state: 'READY', message: 'The model is loaded.', progress: null };
    logger.info({ seconds: Math.round((performance.now() - loadStarted) / 1000) }, 'model ready');
    return pipeline;
  }

  /** Stops getting the model ready: `load()` rejects with `reason`. */
  stop(reason: Error): void {
    this.stopping.abort(reason);
  }

  async dispose(): Promise<void> {
    await this.loaded?.dispose();
  }

  private setStatus(status: ModelStatus): void {
    const changed = status.state !== this.current.state;
    this.current = status;
    // A new state is announced at once; progress within a state rides the next heartbeat.
    if (changed) this.options.onStateChange();
    const now = performance.now();
    if (changed || now - this.statusLoggedAt >= STATUS_LOG_INTERVAL_MS) {
      this.statusLoggedAt = now;
      this.options.logger.info({ state: status.state, progress: status.progress }, status.message);
    }
  }

  /** Files, conversion, loading; after a failure, the same again after a growing delay. */
  private async prepare(): Promise<VideoPipeline> {
    const { config, spec, hub, modelsDir, logger } = this.options;
    const { signal } = this.stopping;
    let delay = config.ZEUS_MODEL_RETRY_MS;
    await this.adoptLegacyFolder();
    for (;;) {
      let candidate: VideoPipeline | undefined;
      try {
        const download = new DownloadStatus();
        this.setStatus({
          state: 'DOWNLOADING',
          message: 'Getting the model files.',
          progress: null,
        });
        const started = performance.now();
        const files = await ensureModelFiles(spec, modelDir(modelsDir, config.ZEUS_MODEL), {
          ...(hub === undefined ? {} : { hub }),
          signal,
          onProgress: (event) => {
            const status = download.update(event);
            if (status !== undefined) this.setStatus(status);
          },
        });
        signal.throwIfAborted();
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
          steps: this.options.steps,
          onLoadProgress: (progress) => {
            // A conversion that had to change course (e.g. T5 weights kept in fp32) says so.
            if (progress.notice !== undefined) {
              logger.warn({ component: progress.component }, progress.notice);
            }
            this.setStatus(loadStatus(progress));
          },
          onLoaded: (info) => {
            this.loadedProvider = info.provider;
            this.loadedPlacement = { models: info.models, deviceNotices: info.notices };
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
        signal.throwIfAborted();
        return candidate;
      } catch (error) {
        await candidate?.dispose();
        if (signal.aborted) throw signal.reason;
        logger.error({ err: error, retryInMs: delay }, 'could not get the model ready');
        this.setStatus(failedStatus(error, delay, { device: config.ZEUS_DEVICE, modelsDir }));
        await sleep(delay, undefined, { signal });
        delay = Math.min(delay * 2, MAX_MODEL_RETRY_MS);
      }
    }
  }

  /** An install from before keeps the files in models/cache/<model>: moved, not downloaded again. */
  private async adoptLegacyFolder(): Promise<void> {
    const { config, modelsDir, logger } = this.options;
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
  }
}
