/** The worker's settings, read once from the environment at start. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  checkStorageSettings,
  integerVariable,
  parsedVariable,
  portVariable,
  logSettings,
  modelSettings,
  queueSettings,
  redisSettings,
  retentionSettings,
  socketPathVariable,
  storageSettings,
} from '@zeus/core';
import { hubSettingsFromEnv, HubSettingsError } from '@zeus/models';
import { z } from 'zod';
import { TEXT_ENCODER_SETTINGS } from '../ltx/text-encoder-placement.ts';
import { parseVaeTile } from '../ltx/vae-tiles.ts';
import { DEVICES, PRECISIONS } from '../runtime-options.ts';
import { VIDEO_ENCODER_SETTINGS } from '../video/encoder-choice.ts';

export const workerEnvironment = z
  .object({
    ...redisSettings,
    ...modelSettings,
    ...queueSettings,
    ...logSettings,
    ...retentionSettings,
    ...storageSettings,
    /**
     * Each denoising step lasts at least this long (0: as fast as the model goes). For tests and
     * demos of the tiny model, whose steps otherwise take milliseconds.
     */
    ZEUS_MIN_STEP_MS: integerVariable({ min: 0, max: 600_000 }, 0),
    /** Where ONNX Runtime runs the model: `auto` picks CUDA, then WebGPU, then the CPU. */
    ZEUS_DEVICE: z.enum(DEVICES).default('auto'),
    /**
     * Weight precision of the converted models. Unset: fp16 on a GPU provider, fp32 on the CPU
     * (ONNX Runtime's CPU provider gains nothing from fp16). The T5 encoder keeps float32
     * numerics either way.
     */
    ZEUS_PRECISION: z.enum(PRECISIONS).optional(),
    /**
     * Where the T5 text encoder lives: `gpu` (with the other models), `cpu`, `on-demand` (on the
     * device only while encoding a new prompt) or `auto` (from the GPU's free memory; see
     * inference/src/ltx/text-encoder-placement.ts).
     */
    ZEUS_TEXT_ENCODER: z.enum(TEXT_ENCODER_SETTINGS).default('auto'),
    /**
     * The MP4s' H.264 encoder: `auto` uses NVENC (the GPU's video encoder) when a one-frame
     * encode through it works at start, libx264 otherwise; `nvenc` refuses to start without it;
     * `libx264` never asks (video/encoder-choice.ts).
     */
    ZEUS_VIDEO_ENCODER: z.enum(VIDEO_ENCODER_SETTINGS).default('auto'),
    /**
     * `off` (default): the VAE decodes whole frames. A size in pixels (e.g. 512): frames larger
     * than that are decoded as tiles of that size sharing a quarter of it, blended, so the
     * decoder's memory is a tile's (for large frames on a GPU with little memory; seams are
     * blended, not exact).
     */
    ZEUS_VAE_TILE: parsedVariable(parseVaeTile, 'off'),
    /**
     * After a failure to download or load the model, the worker tries again after this long,
     * doubling up to ten minutes while it keeps failing.
     */
    ZEUS_MODEL_RETRY_MS: integerVariable({ min: 100, max: 600_000 }, 30_000),
    /** The Hugging Face Hub or mirror the real model's files come from (read by @zeus/models). */
    HF_ENDPOINT: z
      .string()
      .optional()
      .superRefine((value, context) => {
        try {
          hubSettingsFromEnv({ HF_ENDPOINT: value });
        } catch (error) {
          if (!(error instanceof HubSettingsError)) throw error;
          for (const problem of error.problems) {
            context.addIssue({ code: 'custom', message: problem.replace(/^HF_ENDPOINT: /, '') });
          }
        }
      }),
    /**
     * Folder of generated videos (`<job-id>/out.mp4`), shared with whatever serves them
     * (ZEUS_STORAGE=local; with a bucket, nothing is kept here).
     */
    ZEUS_GENERATED_DIR: z
      .string()
      .min(1)
      .default('generated')
      .transform((path) => resolve(path)),
    /** Address of the worker's status server (`/healthz`, `/metrics`). */
    ZEUS_WORKER_HOST: z.string().min(1).default('0.0.0.0'),
    /** Port of the worker's status server (0: any free port). */
    ZEUS_WORKER_PORT: portVariable(9464),
    /**
     * A Unix socket for the status server instead of ZEUS_WORKER_HOST:ZEUS_WORKER_PORT (local
     * mode sets it unless ZEUS_WORKER_PORT is set).
     */
    ZEUS_WORKER_SOCKET: socketPathVariable(),
    /**
     * The machine the worker says it runs on (the `workers` query's `host`): unset, the host name;
     * Kubernetes sets the node's name (a pod's host name is the pod's).
     */
    ZEUS_NODE_NAME: z.string().trim().min(1).max(253).optional(),
    /** This worker's name in heartbeats and logs; unique among workers. */
    ZEUS_WORKER_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, ".", "_" or "-"')
      .default(`${hostname()}-${process.pid}`),
    /**
     * How long a worker's hold on a job lasts without renewal (renewed every half of it): a
     * worker that dies mid-job has its job back in the queue within this plus the stalled-job
     * check's interval (min(this, 5 s)): 20 s by default. 15 s is also when its heartbeat
     * expires and it is shown GONE.
     */
    ZEUS_JOB_LOCK_MS: integerVariable({ min: 1_000, max: 600_000 }, 15_000),
    /** Times a job may lose its worker and be retried before it is failed. */
    ZEUS_MAX_JOB_RETRIES: integerVariable({ min: 0, max: 100 }, 1),
    /** Least time between two progress updates of a job (0: publish every update). */
    ZEUS_PROGRESS_INTERVAL_MS: integerVariable({ min: 0, max: 60_000 }, 250),
  })
  .superRefine(checkStorageSettings);

export type WorkerConfig = z.infer<typeof workerEnvironment>;
