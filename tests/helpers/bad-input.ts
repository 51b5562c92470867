/**
 * What the bad-input tests (tests/e2e/bad-input*.test.ts) send and how they judge the answer:
 * requests through Caddy as a user would write them, and the check that an answer has the right
 * HTTP status, a stable `extensions.code` and a message that says what to fix, with none of
 * Zeus's internals in it.
 */
import { expect } from 'vitest';
import { SUBMIT } from './graphql.ts';

export interface Answer {
  readonly status: number;
  readonly text: string;
}

export interface Expected {
  readonly status: number;
  readonly code: string;
  readonly message: RegExp;
  readonly extensions?: Record<string, unknown>;
}

export type Row = readonly [name: string, request: () => Promise<Answer>, expected: Expected];

/** Requests to one stack, through Caddy at `url()`. */
export interface BadInputClient {
  readonly send: (
    body: string,
    headers?: Record<string, string>,
    method?: string,
    path?: string,
  ) => Promise<Answer>;
  readonly json: (value: unknown) => Promise<Answer>;
  readonly submit: (input: unknown) => Promise<Answer>;
  readonly query: (text: string, variables?: Record<string, unknown>) => Promise<Answer>;
}

export function badInputClient(url: () => string): BadInputClient {
  async function send(
    body: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
    method = 'POST',
    path = '/graphql',
  ): Promise<Answer> {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers,
      ...(method === 'GET' ? {} : { body }),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, text: await response.text() };
  }

  const json = (value: unknown): Promise<Answer> => send(JSON.stringify(value));
  const submit = (input: unknown): Promise<Answer> => json({ query: SUBMIT, variables: { input } });
  const query = (text: string, variables: Record<string, unknown> = {}): Promise<Answer> =>
    json({ query: text, variables });
  return { send, json, submit, query };
}

/** Nothing a user sends may come back with our internals in it. */
export const LEAK = /\/work\/|node_modules|\.ts:\d+|\bat [\w.<>]+ \(|stacktrace|ECONNREFUSED/i;

export function check(answer: Answer, expected: Expected): void {
  expect(answer.text).not.toMatch(LEAK);
  let body: { errors?: { message: string; extensions?: Record<string, unknown> }[] };
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    throw new Error(`not JSON (${answer.status}): ${answer.text.slice(0, 300)}`);
  }
  const error = body.errors?.[0];
  expect({ status: answer.status, code: error?.extensions?.['code'] }).toEqual({
    status: expected.status,
    code: expected.code,
  });
  expect(error?.message).toMatch(expected.message);
  if (expected.extensions !== undefined)
    expect(error?.extensions).toMatchObject(expected.extensions);
}
