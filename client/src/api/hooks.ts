/** React glue for the API: the client in context, the connection state, and submitting a job. */
import { useApolloClient, useMutation } from '@apollo/client/react';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { createContext, useCallback, useContext, useSyncExternalStore } from 'react';
import { FORM_FIELDS, type FormErrors, type FormField } from '../jobs/settings-form.ts';
import type { ConnectionMonitor, ConnectionState } from './connection.ts';
import { HISTORY_PAGE_SIZE } from './history-page.ts';
import {
  CANCEL_JOB_MUTATION,
  JOBS_QUERY,
  RETRY_JOB_MUTATION,
  SUBMIT_BATCH_MUTATION,
  SUBMIT_PROMPT_MUTATION,
  type BatchInput,
  type Job,
  type JobConnection,
  type PromptInput,
} from './operations.ts';

export { HISTORY_PAGE_SIZE };

export const ConnectionContext = createContext<ConnectionMonitor | null>(null);

export function useConnectionState(): ConnectionState {
  const monitor = useContext(ConnectionContext);
  if (monitor === null) throw new Error('useConnectionState needs a ConnectionContext provider');
  return useSyncExternalStore(
    (onChange) => monitor.subscribe(onChange),
    () => monitor.state,
  );
}

export type SubmitResult =
  /** With a batch, `job` is its first. */
  | { readonly ok: true; readonly job: Job }
  | {
      readonly ok: false;
      readonly message: string;
      /** The server's message for each form field it found invalid (`BAD_USER_INPUT`). */
      readonly fieldErrors: FormErrors;
      readonly code: string | null;
    };

function isFormField(value: unknown): value is FormField {
  return typeof value === 'string' && (FORM_FIELDS as readonly string[]).includes(value);
}

/** A batch's problems name its shared settings `settings.<field>`: the form's own fields. */
function formFieldOf(field: unknown): unknown {
  return typeof field === 'string' ? field.replace(/^settings\./, '') : field;
}

/**
 * The per-field messages of a `BAD_USER_INPUT` error: `extensions.problems` lists each invalid
 * field, `extensions.field` names the first.
 */
export function fieldErrorsOf(
  extensions: Readonly<Record<string, unknown>> | undefined,
  message: string,
): FormErrors {
  const errors: Partial<Record<FormField, string>> = {};
  const problems = extensions?.['problems'];
  if (Array.isArray(problems)) {
    for (const problem of problems as unknown[]) {
      if (typeof problem !== 'object' || problem === null) continue;
      const { field: named, message: text } = problem as { field?: unknown; message?: unknown };
      const field = formFieldOf(named);
      if (isFormField(field) && typeof text === 'string') errors[field] ??= text;
    }
  }
  const field = formFieldOf(extensions?.['field']);
  if (isFormField(field)) errors[field] ??= message;
  return errors;
}
/** Puts new jobs at the top of the history at once (the cache merges them by creation time). */
function addToHistory(
  cache: ReturnType<typeof useApolloClient>['cache'],
  jobs: readonly Job[],
): void {
  const variables = { first: HISTORY_PAGE_SIZE };
  const existing = cache.readQuery({ query: JOBS_QUERY, variables })?.jobs;
  const connection: JobConnection = {
    __typename: 'JobConnection',
    edges: jobs.map((job) => ({ __typename: 'JobEdge', cursor: job.id, node: job })),
    pageInfo: existing?.pageInfo ?? { hasNextPage: false, endCursor: null },
    totalCount: (existing?.totalCount ?? 0) + jobs.length,
  };
  cache.writeQuery({ query: JOBS_QUERY, variables, data: { jobs: connection } });
}

/** A failed request as the form shows it: Zeus's message and code, the fields it names. */
function failureOf(error: unknown): Extract<SubmitResult, { ok: false }> {
  if (CombinedGraphQLErrors.is(error)) {
    const first = error.errors[0];
    const code = first?.extensions?.['code'];
    const message = first?.message ?? error.message;
    return {
      ok: false,
      message,
      fieldErrors: fieldErrorsOf(first?.extensions, message),
      code: typeof code === 'string' ? code : null,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, message: `Could not reach Zeus: ${message}`, fieldErrors: {}, code: null };
}

const NO_JOB = {
  ok: false,
  message: 'Zeus sent no job back.',
  fieldErrors: {},
  code: null,
} as const;

/** Sends `submitPrompt` and puts the new job at the top of the history at once. */
export function useSubmitPrompt(): (input: PromptInput) => Promise<SubmitResult> {
  const client = useApolloClient();
  const [mutate] = useMutation(SUBMIT_PROMPT_MUTATION);
  return useCallback(
    async (input: PromptInput): Promise<SubmitResult> => {
      try {
        // The queue's length changes with it: ask for the service's state again too.
        const { data } = await mutate({ variables: { input }, refetchQueries: ['System'] });
        if (data == null) return NO_JOB;
        const job = data.submitPrompt;
        addToHistory(client.cache, [job]);
        return { ok: true, job };
      } catch (error) {
        return failureOf(error);
      }
    },
    [client, mutate],
  );
}

/** Sends `submitBatch` (several videos at once) and puts its jobs at the top of the history. */
export function useSubmitBatch(): (input: BatchInput) => Promise<SubmitResult> {
  const client = useApolloClient();
  const [mutate] = useMutation(SUBMIT_BATCH_MUTATION);
  return useCallback(
    async (input: BatchInput): Promise<SubmitResult> => {
      try {
        const { data } = await mutate({ variables: { input }, refetchQueries: ['System'] });
        const jobs = data?.submitBatch.jobs ?? [];
        const first = jobs[0];
        if (first === undefined) return NO_JOB;
        addToHistory(client.cache, jobs);
        return { ok: true, job: first };
      } catch (error) {
        return failureOf(error);
      }
    },
    [client, mutate],
  );
}

/** Cancels a job; its card updates from the answer (the cache is normalized by job id). */
export function useCancelJob(): (job: Job) => Promise<SubmitResult> {
  const [mutate] = useMutation(CANCEL_JOB_MUTATION);
  return useCallback(
    async (job: Job): Promise<SubmitResult> => {
      try {
        const { data } = await mutate({ variables: { id: job.id }, refetchQueries: ['System'] });
        if (data == null) return NO_JOB;
        return { ok: true, job: data.cancelJob };
      } catch (error) {
        return failureOf(error);
      }
    },
    [mutate],
  );
}

/** Retries a failed or cancelled job (same settings and seed) as a new job in the history. */
export function useRetryJob(): (job: Job) => Promise<SubmitResult> {
  const client = useApolloClient();
  const [mutate] = useMutation(RETRY_JOB_MUTATION);
  return useCallback(
    async (job: Job): Promise<SubmitResult> => {
      try {
        const { data } = await mutate({ variables: { id: job.id }, refetchQueries: ['System'] });
        if (data == null) return NO_JOB;
        addToHistory(client.cache, [data.retryJob]);
        return { ok: true, job: data.retryJob };
      } catch (error) {
        return failureOf(error);
      }
    },
    [client, mutate],
  );
}
