/**
 * The worker's `/healthz` (status-server.ts): ready for jobs, or every reason why not: shutting
 * down, Redis not answering within 1 s, the model not ready, the heartbeat not written lately.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from '@zeus/core';
import { HEARTBEAT_TTL_MS, type Heartbeat } from './heartbeat.ts';
import type { JobRunner } from './job-runner.ts';
import type { ModelReadiness } from './model-readiness.ts';
import type { WorkerHealth } from './status-server.ts';

export interface WorkerHealthSources {
  readonly workerId: string;
  readonly model: string;
  readonly device: string;
  readonly redis: Redis;
  readonly shuttingDown: () => boolean;
  readonly readiness: Pick<ModelReadiness, 'ready' | 'status' | 'provider' | 'placement'>;
  readonly heartbeat: Pick<Heartbeat, 'lastBeatAt'>;
  readonly jobs: Pick<JobRunner, 'currentJobId'>;
}

/** Ready for jobs, or every reason why not: Redis, the model, the heartbeat. */
export async function checkWorkerHealth(sources: WorkerHealthSources): Promise<WorkerHealth> {
  const { readiness, heartbeat, jobs } = sources;
  const problems: string[] = [];
  if (sources.shuttingDown()) problems.push('shutting down');
  try {
    await Promise.race([
      sources.redis.ping(),
      sleep(1_000, undefined, { ref: false }).then(() => {
        throw new Error('no answer within 1 s');
      }),
    ]);
  } catch (error) {
    problems.push(`redis: ${(error as Error).message}`);
  }
  const modelStatus = readiness.status;
  if (!readiness.ready) {
    problems.push(`model: ${modelStatus.state.toLowerCase()}: ${modelStatus.message}`);
  }
  const { lastBeatAt } = heartbeat;
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
      workerId: sources.workerId,
      model: sources.model,
      device: sources.device,
      provider: readiness.provider,
      ...readiness.placement,
      modelStatus: readiness.status,
      lastHeartbeatAt: lastBeatAt?.toISOString() ?? null,
      jobId: jobs.currentJobId,
    },
  };
}
