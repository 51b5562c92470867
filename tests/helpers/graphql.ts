/** GraphQL over HTTP and over WebSocket (graphql-ws), as API users call it. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { fetchVia } from '../../deploy/endpoints.ts';

export interface GraphQLResponse<Data> {
  readonly status: number;
  readonly data?: Data | null;
  readonly errors?: readonly {
    readonly message: string;
    readonly extensions?: Record<string, unknown>;
  }[];
}

/**
 * Where a GraphQL request goes: a URL (Zeus's, through Caddy), or one API server straight, by
 * its address in the local stack (`stack.apiAddresses`: a Unix socket, or host:port).
 */
export type GraphQLTarget = string | { readonly apiServer: string };

/** POSTs a request to a GraphQL endpoint, with a JSON body. */
export async function postGraphQL(
  target: GraphQLTarget,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<Response> {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(15_000),
  };
  return typeof target === 'string'
    ? fetch(target, init)
    : fetchVia(target.apiServer, '/graphql', init);
}

export async function graphqlRequest<Data = Record<string, unknown>>(
  target: GraphQLTarget,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<Data>> {
  const response = await postGraphQL(target, JSON.stringify({ query, variables }));
  const body = (await response.json()) as Omit<GraphQLResponse<Data>, 'status'>;
  return { status: response.status, ...body };
}

export interface WebSocketClient {
  readonly client: Client;
  /** Resolves once connected and acknowledged by the server. */
  readonly connected: Promise<void>;
  /** Resolves with the close code and reason when the connection closes. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
}

/** A graphql-ws client that connects at once and does not retry, so tests see every close. */
export function webSocketClient(
  url: string,
  options: { readonly apiKey?: string } = {},
): WebSocketClient {
  let connected!: () => void;
  let closed!: (event: { code: number; reason: string }) => void;
  const connectedPromise = new Promise<void>((resolve) => {
    connected = resolve;
  });
  const closedPromise = new Promise<{ code: number; reason: string }>((resolve) => {
    closed = resolve;
  });
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    ...(options.apiKey === undefined ? {} : { connectionParams: { apiKey: options.apiKey } }),
    retryAttempts: 0,
    lazy: false,
    // Closes are expected (tests restart servers) and observed through `closed`.
    onNonLazyError: () => undefined,
    on: {
      connected: () => {
        connected();
      },
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closed({ code, reason });
      },
    },
  });
  return { client, connected: connectedPromise, closed: closedPromise };
}

export const JOB_FIELDS = `
  id status stage progress step totalSteps queuePosition videoUrl attempts
  error { code message }
  settings { prompt negativePrompt width height numFrames frameRate seed }
  createdAt startedAt finishedAt updatedAt
`;

export interface JobResult {
  readonly id: string;
  readonly status: string;
  readonly stage: string;
  readonly progress: number;
  readonly step: number;
  readonly totalSteps: number;
  readonly queuePosition: number | null;
  readonly videoUrl: string | null;
  readonly attempts: number;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly settings: {
    readonly prompt: string;
    readonly width: number;
    readonly height: number;
    readonly numFrames: number;
    readonly frameRate: number;
    readonly seed: number;
  };
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
}

export const SUBMIT = `mutation Submit($input: PromptInput!) { submitPrompt(input: $input) { ${JOB_FIELDS} } }`;
export const JOB_UPDATED = `subscription Watch($id: ID!) { jobUpdated(id: $id) { ${JOB_FIELDS} } }`;

/**
 * Subscribes to a job's updates and collects them until the subscription completes. Resolves
 * `subscribed` once the first event (the current state) has arrived.
 */
export function watchJob(
  client: Client,
  jobId: string,
  onUpdate: (job: JobResult) => void = () => {},
): { readonly subscribed: Promise<JobResult>; readonly completed: Promise<JobResult[]> } {
  const updates: JobResult[] = [];
  let firstSeen!: (job: JobResult) => void;
  let failed!: (error: Error) => void;
  const subscribed = new Promise<JobResult>((resolve, reject) => {
    firstSeen = resolve;
    failed = reject;
  });
  const completed = new Promise<JobResult[]>((resolve, reject) => {
    client.subscribe<{ jobUpdated: JobResult }>(
      { query: JOB_UPDATED, variables: { id: jobId } },
      {
        next: (result) => {
          if (result.errors !== undefined || result.data == null) {
            const error = new Error(`subscription error: ${JSON.stringify(result.errors)}`);
            failed(error);
            reject(error);
            return;
          }
          const job = result.data.jobUpdated;
          updates.push(job);
          if (updates.length === 1) firstSeen(job);
          onUpdate(job);
        },
        error: (error: unknown) => {
          const wrapped = new Error(`subscription failed: ${JSON.stringify(error)}`);
          failed(wrapped);
          reject(wrapped);
        },
        complete: () => {
          resolve(updates);
        },
      },
    );
  });
  // Rejections are observed through `subscribed` or `completed`; neither must go unhandled.
  subscribed.catch(() => undefined);
  completed.catch(() => undefined);
  return { subscribed, completed };
}
