/** The worker's settings, read once from the environment at start. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  integerVariable,
  logSettings,
  modelSettings,
  queueSettings,
  redisSettings,
} from '@zeus/core';
import { z } from 'zod';
import { DEVICES } from '../onnx/runtime.ts';

export const workerEnvironment = z.object({
  ...redisSettings,
  ...modelSettings,
  ...queueSettings,
  ...logSettings,
  /** Where ONNX Runtime runs the model: `auto` picks CUDA, then WebGPU, then the CPU. */
  ZEUS_DEVICE: z.enum(DEVICES).default('auto'),
  /** Folder of generated videos (`<job-id>/out.mp4`), shared with whatever serves them. */
  ZEUS_GENERATED_DIR: z
    .string()
    .min(1)
    .default('generated')
    .transform((path) => resolve(path)),
  /** This worker's name in heartbeats and logs; unique among workers. */
  ZEUS_WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, ".", "_" or "-"')
    .default(`${hostname()}-${process.pid}`),
  /**
   * How long a worker's hold on a job lasts without renewal: a worker that dies mid-job is
   * noticed, and its job retried, within about twice this.
   */
  ZEUS_JOB_LOCK_MS: integerVariable({ min: 1_000, max: 600_000 }, 30_000),
  /** Times a job may lose its worker and be retried before it is failed. */
  ZEUS_MAX_JOB_RETRIES: integerVariable({ min: 0, max: 100 }, 1),
  /** Least time between two progress updates of a job (0: publish every update). */
  ZEUS_PROGRESS_INTERVAL_MS: integerVariable({ min: 0, max: 60_000 }, 250),
});

export type WorkerConfig = z.infer<typeof workerEnvironment>;
