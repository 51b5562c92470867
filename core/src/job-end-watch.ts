/**
 * Tells a worker at once when the job it is running ends elsewhere, in practice a user's
 * `cancelJob`: the worker listens on the job's channel (where the job store publishes every new
 * record) for as long as it runs the job, and stops it when a final state arrives. Without this
 * the worker would notice only at its next progress update, which a throttle may delay.
 */
import { isFinalStatus, type Job } from './job.ts';
import { parseJob } from './job-record.ts';
import type { Redis } from './redis.ts';
import type { RedisKeys } from './redis-keys.ts';

export class JobEndWatch {
  private readonly listeners = new Map<string, (job: Job) => void>();

  /** `subscriber` becomes a subscriber-mode connection owned by the watch. */
  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      const listener = this.listeners.get(channel);
      if (listener === undefined) return;
      let job: Job;
      try {
        job = parseJob(message);
      } catch {
        return;
      }
      if (isFinalStatus(job.status)) listener(job);
    });
  }

  /**
   * Calls `onEnded` with the job's record when it reaches a final state (whoever wrote it).
   * Resolves once listening; the result stops listening. Messages missed while Redis was
   * unreachable are not replayed: the worker's next update then finds the job over.
   */
  async watch(jobId: string, onEnded: (job: Job) => void): Promise<() => Promise<void>> {
    const channel = this.keys.jobChannel(jobId);
    this.listeners.set(channel, onEnded);
    await this.subscriber.subscribe(channel);
    return async () => {
      this.listeners.delete(channel);
      await this.subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }
}
