/**
 * The worker's heartbeat: who it is, where it is with its model and which job it runs, written
 * to Redis now and every 5 s with a 15 s expiry, so that three missed beats and it counts as
 * gone. A beat that fails is logged; the next one tries again.
 */
import { hostname } from 'node:os';
import type { Logger, ModelName, ModelStatus, WorkerHeartbeat, WorkerHeartbeats } from '@zeus/core';
import type { WorkerMetrics } from './metrics.ts';

const HEARTBEAT_INTERVAL_MS = 5_000;
/** Three missed heartbeats and the worker counts as gone. */
export const HEARTBEAT_TTL_MS = 15_000;

/** Where each model runs and why a preferred choice was refused, once loaded. */
export type ModelPlacement = Pick<WorkerHeartbeat, 'models' | 'deviceNotices'>;

/** What each beat says of the worker now. */
export interface HeartbeatState extends ModelPlacement {
  /** The execution provider ONNX Runtime chose, once the model is loaded. */
  readonly provider: string | null;
  readonly modelReady: boolean;
  readonly modelStatus: ModelStatus;
  readonly jobId: string | null;
}

export interface HeartbeatOptions {
  readonly heartbeats: WorkerHeartbeats;
  readonly workerId: string;
  readonly model: ModelName;
  readonly device: string;
  /** `ZEUS_NODE_NAME`: the machine's name where the worker's own hostname is a container's. */
  readonly nodeName: string | undefined;
  readonly state: () => HeartbeatState;
  readonly metrics: Pick<WorkerMetrics, 'heartbeatWritten'>;
  readonly logger: Logger;
}

export class Heartbeat {
  private readonly startedAt = new Date().toISOString();
  private written: Date | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** When a beat last reached Redis. */
  get lastBeatAt(): Date | null {
    return this.written;
  }

  /** Beats now; never throws. */
  readonly beat = async (): Promise<void> => {
    const { heartbeats, workerId, model, device, nodeName, metrics, logger } = this.options;
    try {
      await heartbeats.beat(
        {
          workerId,
          model,
          device,
          ...this.options.state(),
          pid: process.pid,
          hostname: nodeName ?? hostname(),
          startedAt: this.startedAt,
          beatAt: new Date().toISOString(),
        },
        HEARTBEAT_TTL_MS,
      );
      this.written = new Date();
      metrics.heartbeatWritten(this.written);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    }
  };

  /** Beats now, then every interval. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
  }

  /** Stops beating and takes the worker off the list of workers at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.options.heartbeats.remove(this.options.workerId).catch(() => undefined);
  }
}
