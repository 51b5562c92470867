/**
 * Zeus's GraphQL API from Node: queries and mutations over HTTP POST, `jobUpdated` over a
 * graphql-ws WebSocket that reconnects by itself, and the MP4 download. The only module of the
 * CLI that talks to the network.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { BatchInput, Job, PromptInput, SystemStatus, WorkerInfo } from '@zeus/client';

/** An error from Zeus (a GraphQL error with its stable code) or from getting to it. */
export class ZeusApiError extends Error {
  override readonly name = 'ZeusApiError';
  constructor(
    message: string,
    /** `extensions.code`, for example `BAD_USER_INPUT`; `NETWORK_ERROR` when Zeus did not answer. */
    readonly code: string,
    /** The input field a `BAD_USER_INPUT` error names. */
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

const JOB_FIELDS = `
  id status stage progress step totalSteps queuePosition videoUrl
  error { code message }
  settings { prompt negativePrompt width height numFrames frameRate seed }
  attempts createdAt startedAt finishedAt updatedAt
  priority estimatedStartAt estimatedFinishAt expiresAt retryOf batchId
`;

/** Every operation the CLI sends; tests check each against the schema. */
export const OPERATIONS = {
  submitPrompt: `mutation SubmitPrompt($input: PromptInput!) { submitPrompt(input: $input) { ${JOB_FIELDS} } }`,
  system:
    'query System { system { queueLength maxQueued running workersOnline modelReady model } }',
  workers: `query Workers {
    workers {
      id host device model status ready jobsDone lastSeenAt startedAt currentJobId
      modelStatus { state message progress }
      currentJob { id progress settings { prompt } }
    }
  }`,
  jobs: `query Jobs($first: Int!, $after: String) {
    jobs(first: $first, after: $after) {
      edges { node { ${JOB_FIELDS} } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }`,
  jobUpdated: `subscription JobUpdated($id: ID!) { jobUpdated(id: $id) { ${JOB_FIELDS} } }`,
  submitBatch: `mutation SubmitBatch($input: BatchInput!) { submitBatch(input: $input) { id jobs { ${JOB_FIELDS} } } }`,
  cancelJob: `mutation CancelJob($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`,
  retryJob: `mutation RetryJob($id: ID!) { retryJob(id: $id) { ${JOB_FIELDS} } }`,
} as const;

export interface JobsPage {
  readonly jobs: readonly Job[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
  readonly totalCount: number;
}

export interface WatchHandlers {
  /** Every state of the job, the current one first. */
  readonly onUpdate: (job: Job) => void;
  /** The WebSocket dropped; it is being retried. */
  readonly onReconnecting: () => void;
  /** The WebSocket is back (the subscription is sent again and resumes with the current state). */
  readonly onReconnected: () => void;
}

export interface ZeusApiOptions {
  /** How many times to retry a dropped WebSocket before giving up (about 4 s apart at most). */
  readonly retryAttempts?: number;
  /** Sent as `Authorization: Bearer` over HTTP and as `connectionParams.apiKey` on the WebSocket. */
  readonly apiKey?: string | null;
}

/** graphql-ws's close code when the server refuses the connection (here: a wrong API key). */
const FORBIDDEN_CLOSE_CODE = 4403;

/** What the CLI adds to Zeus's own message when a key is missing or wrong. */
const KEY_HINT = 'Pass it with --api-key <key> or set ZEUS_API_KEY.';

/** 0.5 s, 1 s, 2 s, then 4 s at most between reconnects, plus up to 0.5 s of jitter. */
function reconnectDelayMs(retries: number): number {
  return Math.min(500 * 2 ** retries, 4_000) + Math.floor(Math.random() * 500);
}

export class ZeusApi {
  readonly #graphqlUrl: string;
  readonly #wsUrl: string;
  readonly #retryAttempts: number;
  readonly #apiKey: string | null;

  /** `baseUrl`: Zeus's address, for example `http://localhost:8080`. */
  constructor(
    readonly baseUrl: string,
    options: ZeusApiOptions = {},
  ) {
    this.#graphqlUrl = `${baseUrl}/graphql`;
    this.#wsUrl = this.#graphqlUrl.replace(/^http/, 'ws');
    // About two minutes of retries: long enough for servers to restart.
    this.#retryAttempts = options.retryAttempts ?? 30;
    this.#apiKey = options.apiKey ?? null;
  }

  async request<Data>(query: string, variables: Record<string, unknown> = {}): Promise<Data> {
    let response: Response;
    try {
      response = await fetch(this.#graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.#apiKey === null ? {} : { authorization: `Bearer ${this.#apiKey}` }),
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ZeusApiError(
        `Cannot reach Zeus at ${this.baseUrl}: ${causeMessage(error)}`,
        'NETWORK_ERROR',
      );
    }
    const text = await response.text();
    let body: { data?: Data | null; errors?: readonly GraphQLErrorJson[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ZeusApiError(
        `Zeus at ${this.baseUrl} answered HTTP ${response.status} without GraphQL: ${text.slice(0, 200)}`,
        'NETWORK_ERROR',
      );
    }
    const first = body.errors?.[0];
    if (first !== undefined) throw errorFromGraphQL(first);
    if (body.data === undefined || body.data === null) {
      throw new ZeusApiError(`Zeus answered HTTP ${response.status} with no data.`, 'BAD_RESPONSE');
    }
    return body.data;
  }

  /**
   * Uploads a first-frame image (`POST /uploads`); its id goes into `PromptInput.imageId`.
   * Zeus judges the type from the bytes, so they are sent as they are.
   */
  async upload(bytes: Uint8Array): Promise<{ id: string; width: number; height: number }> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/uploads`, {
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          ...(this.#apiKey === null ? {} : { authorization: `Bearer ${this.#apiKey}` }),
        },
        body: new Uint8Array(bytes),
      });
    } catch (error) {
      throw new ZeusApiError(
        `Cannot reach Zeus at ${this.baseUrl}: ${causeMessage(error)}`,
        'NETWORK_ERROR',
      );
    }
    const body = (await response.json().catch(() => null)) as {
      id?: string;
      width?: number;
      height?: number;
      errors?: readonly GraphQLErrorJson[];
    } | null;
    const first = body?.errors?.[0];
    if (first !== undefined) throw errorFromGraphQL(first);
    if (!response.ok || body?.id === undefined) {
      throw new ZeusApiError(
        `Zeus answered HTTP ${response.status} to the upload.`,
        'BAD_RESPONSE',
      );
    }
    return { id: body.id, width: body.width ?? 0, height: body.height ?? 0 };
  }

  async submit(input: PromptInput): Promise<Job> {
    const data = await this.request<{ submitPrompt: Job }>(OPERATIONS.submitPrompt, { input });
    return data.submitPrompt;
  }

  /** Several jobs at once (`--count`): the batch's id and its jobs, in order. */
  async submitBatch(input: BatchInput): Promise<{ id: string; jobs: readonly Job[] }> {
    const data = await this.request<{ submitBatch: { id: string; jobs: Job[] } }>(
      OPERATIONS.submitBatch,
      { input },
    );
    return data.submitBatch;
  }

  async cancel(id: string): Promise<Job> {
    return (await this.request<{ cancelJob: Job }>(OPERATIONS.cancelJob, { id })).cancelJob;
  }

  async retry(id: string): Promise<Job> {
    return (await this.request<{ retryJob: Job }>(OPERATIONS.retryJob, { id })).retryJob;
  }

  async system(): Promise<SystemStatus> {
    const data = await this.request<{ system: SystemStatus }>(OPERATIONS.system);
    return data.system;
  }

  async workers(): Promise<readonly WorkerInfo[]> {
    const data = await this.request<{ workers: WorkerInfo[] }>(OPERATIONS.workers);
    return data.workers;
  }

  async jobs(first: number, after: string | null): Promise<JobsPage> {
    const data = await this.request<{
      jobs: {
        edges: { node: Job }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        totalCount: number;
      };
    }>(OPERATIONS.jobs, { first, after });
    return {
      jobs: data.jobs.edges.map((edge) => edge.node),
      hasNextPage: data.jobs.pageInfo.hasNextPage,
      endCursor: data.jobs.pageInfo.endCursor,
      totalCount: data.jobs.totalCount,
    };
  }

  /**
   * Follows a job until it reaches a final state, which the promise resolves with. A dropped
   * WebSocket is retried; `signal` stops watching (the promise rejects with its reason).
   */
  watch(id: string, handlers: WatchHandlers, signal?: AbortSignal): Promise<Job> {
    let finished = false;
    let last: Job | null = null;
    const client: Client = createClient({
      url: this.#wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: this.#retryAttempts,
      ...(this.#apiKey === null ? {} : { connectionParams: { apiKey: this.#apiKey } }),
      // Every drop is worth retrying (servers restart), but not a refused key.
      shouldRetry: (event) => !isRefusedKey(event),
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(retries))),
      on: {
        connected: (_socket, _payload, wasRetry) => {
          if (wasRetry) handlers.onReconnected();
        },
        closed: () => {
          if (!finished) handlers.onReconnecting();
        },
      },
    });
    return new Promise<Job>((resolve, reject) => {
      const settle = (outcome: () => void): void => {
        if (finished) return;
        finished = true;
        signal?.removeEventListener('abort', abort);
        unsubscribe();
        void client.dispose();
        outcome();
      };
      const abort = (): void => {
        settle(() => {
          reject(signal?.reason instanceof Error ? signal.reason : new Error('Stopped watching.'));
        });
      };
      const unsubscribe = client.subscribe<{ jobUpdated: Job }>(
        {
          query: OPERATIONS.jobUpdated,
          variables: { id },
        },
        {
          next: (result) => {
            const job = result.data?.jobUpdated;
            const error = result.errors?.[0];
            if (error !== undefined) {
              settle(() => {
                reject(errorFromGraphQL(error));
              });
            } else if (job !== undefined) {
              last = job;
              handlers.onUpdate(job);
            }
          },
          error: (error) => {
            settle(() => {
              if (isRefusedKey(error)) {
                reject(
                  new ZeusApiError(`Zeus refused the API key. ${KEY_HINT}`, 'UNAUTHENTICATED'),
                );
                return;
              }
              reject(
                new ZeusApiError(
                  `Lost the connection to Zeus at ${this.baseUrl} (${closeReason(error)}); ` +
                    `job ${id} goes on: see "zeus jobs".`,
                  'NETWORK_ERROR',
                ),
              );
            });
          },
          complete: () => {
            settle(() => {
              if (last === null)
                reject(new ZeusApiError(`Zeus sent nothing about job ${id}.`, 'BAD_RESPONSE'));
              else resolve(last);
            });
          },
        },
      );
      if (signal?.aborted === true) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /**
   * Downloads `path` (a `videoUrl`) to `file`, atomically; resolves with the bytes written. The
   * key goes along, so an expired link still works for its owner (fetch drops it on a redirect
   * to another origin, such as a bucket's presigned URL).
   */
  async download(path: string, file: string): Promise<number> {
    const url = new URL(path, `${this.baseUrl}/`).href;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: this.#apiKey === null ? {} : { authorization: `Bearer ${this.#apiKey}` },
      });
    } catch (error) {
      throw new ZeusApiError(`Cannot download ${url}: ${causeMessage(error)}`, 'NETWORK_ERROR');
    }
    if (!response.ok || response.body === null) {
      throw new ZeusApiError(`Cannot download ${url}: HTTP ${response.status}.`, 'DOWNLOAD_FAILED');
    }
    const partial = `${file}.part`;
    let bytes = 0;
    try {
      const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      await pipeline(body, createWriteStream(partial));
      await rename(partial, file);
    } catch (error) {
      await rm(partial, { force: true });
      throw new ZeusApiError(`Cannot save ${file}: ${causeMessage(error)}`, 'DOWNLOAD_FAILED');
    }
    return bytes;
  }
}

interface GraphQLErrorJson {
  readonly message: string;
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** The WebSocket was closed because Zeus refused the API key. */
function isRefusedKey(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    'code' in event &&
    event.code === FORBIDDEN_CLOSE_CODE
  );
}

function errorFromGraphQL(error: GraphQLErrorJson): ZeusApiError {
  const code = error.extensions?.['code'];
  const field = error.extensions?.['field'];
  return new ZeusApiError(
    code === 'UNAUTHENTICATED' ? `${error.message} ${KEY_HINT}` : error.message,
    typeof code === 'string' ? code : 'GRAPHQL_ERROR',
    typeof field === 'string' ? field : null,
  );
}

function causeMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

function closeReason(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `WebSocket closed with ${String(code)}${typeof reason === 'string' && reason !== '' ? `: ${reason}` : ''}`;
  }
  return causeMessage(error);
}
