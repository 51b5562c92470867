/**
 * What the access tests (tests/e2e/access*.test.ts) share: the API keys and the origin they use,
 * a GraphQL request whose answer must not leak Zeus's internals, and the first event of a
 * subscription.
 */
import { createClient } from 'graphql-ws';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { JOB_UPDATED, postGraphQL, type GraphQLTarget } from './graphql.ts';

export const ALICE = 'alice-key-0123456789abcdef';
export const BOB = 'bob-key-fedcba9876543210';
export const ORIGIN = 'https://app.example.com';
export const LEAK = /\/work\/|node_modules|\.ts:\d+|\bat [\w.<>]+ \(|stacktrace/i;

export interface Answer {
  readonly status: number;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
  readonly headers: Headers;
}

export async function post(
  target: GraphQLTarget,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await postGraphQL(target, JSON.stringify({ query, variables }), headers);
  const text = await response.text();
  expect(text).not.toMatch(LEAK);
  return {
    status: response.status,
    body: JSON.parse(text) as Answer['body'],
    headers: response.headers,
  };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
export const codeOf = (answer: Answer): unknown => answer.body.errors?.[0]?.extensions?.['code'];

/** The first event of a subscription to a job over graphql-ws, or its error. */
export async function firstEvent(
  url: string,
  jobId: string,
  connectionParams?: Record<string, unknown>,
): Promise<{ data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }> {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(connectionParams === undefined ? {} : { connectionParams }),
  });
  try {
    return await new Promise((resolve, reject) => {
      client.subscribe(
        { query: JOB_UPDATED, variables: { id: jobId } },
        {
          next: (result) => {
            resolve(result as never);
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
  } finally {
    await client.dispose();
  }
}
