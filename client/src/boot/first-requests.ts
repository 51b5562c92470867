/**
 * The first screen's GraphQL requests, known to both sides of the page's start: the boot script
 * inlined in index.html (boot/main.ts) sends them while the app's scripts are still downloading
 * and compiling, and the app's Apollo client (api/first-answers.ts) takes their answers when it
 * asks for the same thing, instead of asking again. A request is the same when its operation,
 * query text, variables and API key are: anything else goes to the network as before. Pure.
 */
import { HISTORY_PAGE_SIZE } from '../api/history-page.ts';
import type { Route } from '../routing/routes.ts';

/** An operation as Apollo's HttpLink sends it: printed with the `__typename`s the cache adds. */
export interface OperationText {
  readonly operationName: string;
  readonly query: string;
}

/**
 * The operations a first screen may ask for: as documents in the app (api/first-screen.ts), as
 * text in the boot script (printed from those documents at build time: boot-script.ts).
 */
export interface FirstScreen<Operation> {
  readonly jobs: Operation;
  readonly job: Operation;
  readonly modelRules: Operation;
  readonly system: Operation;
  readonly workers: Operation;
}

/** One request of a first screen: an operation and its variables. */
export interface FirstRequest<Operation> {
  readonly operation: Operation;
  readonly variables: Readonly<Record<string, unknown>>;
}

/** A request sent by the boot script, under its key (`requestKey`), with its answer to come. */
export interface SentRequest {
  readonly key: string;
  /** `performance.now()` when it was sent. */
  readonly sentAt: number;
  readonly response: Promise<Response>;
  /** Whether its whole answer has arrived (or it failed): the app has nothing to wait for. */
  done: boolean;
}

/** Where the boot script leaves what it sent, on `window`. */
export const SENT_REQUESTS_GLOBAL = 'zeusFirstRequests';

/** The `Accept` header Apollo's HttpLink sends, so the server answers both alike. */
export const GRAPHQL_ACCEPT = 'application/graphql-response+json,application/json;q=0.9';

/**
 * What the page at `route` asks for before the user does anything: the list's first page (with
 * the workers panel) or one job, and the model's rules and the service's state in the header.
 * The variables are those the components use (JobHistory, JobPage, App, WorkersPanel), so the
 * requests are the same ones. The first request is the one that names the posters.
 */
export function firstRequestsFor<Operation>(
  route: Route,
  operations: FirstScreen<Operation>,
): readonly FirstRequest<Operation>[] {
  const shell: FirstRequest<Operation>[] = [
    { operation: operations.modelRules, variables: {} },
    { operation: operations.system, variables: {} },
  ];
  if (route.page === 'home') {
    return [
      { operation: operations.jobs, variables: { first: HISTORY_PAGE_SIZE } },
      ...shell,
      { operation: operations.workers, variables: {} },
    ];
  }
  if (route.page === 'job') {
    return [{ operation: operations.job, variables: { id: route.id } }, ...shell];
  }
  return shell;
}

/** The JSON body of a request, as HttpLink sends it (less its client-library extension). */
export function bodyOf(request: FirstRequest<OperationText>): string {
  const { operationName, query } = request.operation;
  return JSON.stringify({ operationName, variables: request.variables, query });
}

/** `value` as JSON with every object's keys sorted, so equal variables give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The key of a request: its operation, query text, variables and `Authorization` header. */
export function requestKey(
  request: FirstRequest<OperationText>,
  authorization: string | null,
): string {
  const { operationName, query } = request.operation;
  return canonicalJson([operationName, query, request.variables, authorization ?? '']);
}

/**
 * The key of a request Apollo is about to send as `body` (HttpLink's JSON: operationName,
 * variables, extensions, query), or null for a body that is not one (a GET, an upload).
 */
export function keyOfBody(body: unknown, authorization: string | null): string | null {
  if (typeof body !== 'string') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { operationName, query, variables } = parsed as Record<string, unknown>;
  if (typeof operationName !== 'string' || typeof query !== 'string') return null;
  const vars = typeof variables === 'object' && variables !== null ? variables : {};
  return requestKey(
    { operation: { operationName, query }, variables: vars as Record<string, unknown> },
    authorization,
  );
}

/** The posters an answer to the list's first page or to one job names, in its order. */
export function postersOf(answer: unknown): readonly string[] {
  const data = (answer as { data?: unknown } | null)?.data as
    | {
        jobs?: { edges?: readonly { node?: { posterUrl?: unknown } | null }[] } | null;
        job?: { posterUrl?: unknown } | null;
      }
    | null
    | undefined;
  const jobs = data?.jobs?.edges?.map((edge) => edge.node) ?? [data?.job];
  return jobs.flatMap((job) => (typeof job?.posterUrl === 'string' ? [job.posterUrl] : []));
}
