/** React glue for the API: the client in context, the connection state, and submitting a job. */
import { useApolloClient, useMutation } from '@apollo/client/react';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { createContext, useCallback, useContext, useSyncExternalStore } from 'react';
import { FORM_FIELDS, type FormErrors, type FormField } from '../jobs/settings-form.ts';
import type { ConnectionMonitor, ConnectionState } from './connection.ts';
import {
  JOBS_QUERY,
  SUBMIT_PROMPT_MUTATION,
  type Job,
  type JobConnection,
  type PromptInput,
} from './operations.ts';

/** Jobs per page of the history. */
export const HISTORY_PAGE_SIZE = 8;

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
      const { field, message: text } = problem as { field?: unknown; message?: unknown };
      if (isFormField(field) && typeof text === 'string') errors[field] ??= text;
    }
  }
  const field = extensions?.['field'];
  if (isFormField(field)) errors[field] ??= message;
  return errors;
}
/** Sends `submitPrompt` and puts the new job at the top of the history at once. */
export function useSubmitPrompt(): (input: PromptInput) => Promise<SubmitResult> {
  const client = useApolloClient();
  const [mutate] = useMutation(SUBMIT_PROMPT_MUTATION);
  return useCallback(
    async (input: PromptInput): Promise<SubmitResult> => {
      try {
        // The queue's length changes with it: ask for the service's state again too.
        const { data } = await mutate({ variables: { input }, refetchQueries: ['System'] });
        if (data === undefined) {
          return { ok: false, message: 'Zeus sent no job back.', fieldErrors: {}, code: null };
        }
        const job = data.submitPrompt;
        const variables = { first: HISTORY_PAGE_SIZE };
        const existing = client.cache.readQuery({ query: JOBS_QUERY, variables })?.jobs;
        const jobs: JobConnection = {
          __typename: 'JobConnection',
          // The cache's merge function puts this edge into the list by creation time.
          edges: [{ __typename: 'JobEdge', cursor: job.id, node: job }],
          pageInfo: existing?.pageInfo ?? { hasNextPage: false, endCursor: null },
          totalCount: (existing?.totalCount ?? 0) + 1,
        };
        client.cache.writeQuery({ query: JOBS_QUERY, variables, data: { jobs } });
        return { ok: true, job };
      } catch (error) {
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
        return {
          ok: false,
          message: `Could not reach Zeus: ${message}`,
          fieldErrors: {},
          code: null,
        };
      }
    },
    [client, mutate],
  );
}
