/**
 * Follows a job the way the web app and the CLI do: a graphql-ws client that reconnects by
 * itself whatever closed its socket, and subscribes again on the new connection. Records every
 * event with what happened to the connection in between, for tests that break things on
 * purpose.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { JOB_UPDATED, type JobResult } from './graphql.ts';

export interface FollowedEvent {
  readonly job: JobResult;
  /** Reconnections before this event: the first event after one is the resubscription's. */
  readonly connection: number;
}

export interface FollowedJob {
  readonly jobId: string;
  readonly events: readonly FollowedEvent[];
  /** Close codes of the sockets that dropped while following. */
  readonly drops: readonly number[];
  /** Resolves with the events once the subscription completes (after a final state). */
  readonly done: Promise<readonly FollowedEvent[]>;
  /** The last state seen. */
  last(): JobResult | undefined;
  dispose(): Promise<void>;
}

export function followJob(
  webSocketUrl: string,
  jobId: string,
  onUpdate: (job: JobResult) => void = () => undefined,
  connectionParams?: Record<string, unknown>,
): FollowedJob {
  const events: FollowedEvent[] = [];
  const drops: number[] = [];
  let connection = 0;
  /** Disposed, or the subscription is over: later closes are the client's own. */
  let finished = false;
  const client: Client = createClient({
    url: webSocketUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 200)),
    ...(connectionParams === undefined ? {} : { connectionParams }),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) connection += 1;
      },
      closed: (event) => {
        if (!finished) drops.push((event as { code?: number } | null)?.code ?? 0);
      },
    },
  });
  const done = new Promise<readonly FollowedEvent[]>((resolve, reject) => {
    client.subscribe<{ jobUpdated: JobResult }>(
      { query: JOB_UPDATED, variables: { id: jobId } },
      {
        next: (result) => {
          const job = result.data?.jobUpdated;
          if (job == null) {
            reject(new Error(`subscription error for ${jobId}: ${JSON.stringify(result.errors)}`));
            return;
          }
          events.push({ job, connection });
          onUpdate(job);
        },
        error: (error: unknown) => {
          reject(new Error(`subscription for ${jobId} failed: ${JSON.stringify(error)}`));
        },
        complete: () => {
          finished = true;
          resolve(events);
        },
      },
    );
  });
  done.catch(() => undefined);
  return {
    jobId,
    events,
    drops,
    done,
    last: () => events.at(-1)?.job,
    dispose: async () => {
      finished = true;
      await client.dispose();
    },
  };
}
