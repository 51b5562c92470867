/**
 * Every kind of bad input, sent through Caddy to the real stack (Redis, three API servers,
 * Caddy), one row of a table each: the answer has the right HTTP status, a stable
 * `extensions.code` and a message that says what to fix; none leaks a stack trace or a path.
 * Afterwards nothing was queued or stored, and every process is still the one that started.
 * No worker: a job queued by mistake would stay in the queue for the final check to see.
 * Webhooks are on (so a webhookUrl is judged by its form); the few mistakes that need API keys
 * (a priority a key may not use) run on a second, smaller stack with keys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchVia } from '../../deploy/endpoints.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local-stack.ts';
import type { SupervisorEvent } from '../../deploy/supervisor.ts';
import { SUBMIT } from '../helpers/graphql.ts';
import { rawWebSocket, UpgradeRefused, type RawWebSocket } from '../helpers/raw-websocket.ts';

let stack: LocalStack;
let dir: string;
const pidsAtStart = new Map<string, number | undefined>();
const processEvents: SupervisorEvent[] = [];
let stopWatching: () => void = () => undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-bad-input-'));
  stack = await startLocalStack({
    dataDir: join(dir, 'data'),
    generatedDir: join(dir, 'generated'),
    port: 0,
    workers: 0,
    env: {
      ZEUS_MODEL: 'tiny-random',
      ZEUS_LOG_LEVEL: 'warn',
      // Webhooks on, so that a webhookUrl is judged by its form rather than refused outright.
      ZEUS_WEBHOOK_SECRET: 'bad-input-webhook-secret',
    },
  });
  for (const name of stack.processNames) pidsAtStart.set(name, stack.pid(name));
  stopWatching = stack.onEvent((event) => processEvents.push(event));
});

afterAll(async () => {
  stopWatching();
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function send(
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  method = 'POST',
  path = '/graphql',
): Promise<Answer> {
  const response = await fetch(`${stack.url}${path}`, {
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

/** Nothing a user sends may come back with our internals in it. */
const LEAK = /\/work\/|node_modules|\.ts:\d+|\bat [\w.<>]+ \(|stacktrace|ECONNREFUSED/i;

interface Expected {
  readonly status: number;
  readonly code: string;
  readonly message: RegExp;
  readonly extensions?: Record<string, unknown>;
}

type Row = readonly [name: string, request: () => Promise<Answer>, expected: Expected];

const JOB = 'id status progress settings { prompt seed } error { code message }';
const long = (count: number): string => 'a fox in the snow '.repeat(count).slice(0, count);

/** The prompt limit: tokens when the model's tokenizer is there, characters until then. */
const OVER_THE_LIMIT = {
  status: 200,
  code: 'BAD_USER_INPUT',
  message:
    /^prompt (has \d+ tokens \(counting the end-of-text token\); the model reads at most 256\. Shorten it by \d+\.|must be at most 1024 characters \(got 2000\)\.)$/,
  extensions: { field: 'prompt' },
} as const;

const inputRows: Row[] = [
  [
    'no prompt',
    () => submit({ width: 256 }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /Field "prompt" of required type "String!" was not provided/,
    },
  ],
  [
    'a null input',
    () => submit(null),
    { status: 400, code: 'BAD_USER_INPUT', message: /"\$input" of non-null type/ },
  ],
  [
    'a prompt that is not a string',
    () => submit({ prompt: 42 }),
    { status: 400, code: 'BAD_USER_INPUT', message: /String cannot represent a non string value/ },
  ],
  [
    'an empty prompt',
    () => submit({ prompt: '' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^prompt must not be blank\.$/,
      extensions: { field: 'prompt', rule: 'required' },
    },
  ],
  [
    'a whitespace prompt',
    () => submit({ prompt: ' \n\t ' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^prompt must not be blank\.$/,
      extensions: { rule: 'required' },
    },
  ],
  ['a prompt over the limit', () => submit({ prompt: long(2_000) }), OVER_THE_LIMIT],
  [
    'a negative prompt over the limit',
    () => submit({ prompt: 'a fox', negativePrompt: long(2_000) }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^negativePrompt (has \d+ tokens|must be at most 1024 characters)/,
      extensions: { field: 'negativePrompt' },
    },
  ],
  [
    'a control character in the prompt',
    () => submit({ prompt: 'a fox\u0007 in snow' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message:
        /^prompt must not contain control characters \(found U\+0007 at position 5\); remove it\./,
      extensions: { field: 'prompt', rule: 'characters' },
    },
  ],
  [
    'a NUL in the negative prompt',
    () => submit({ prompt: 'a fox', negativePrompt: 'blur\u0000' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^negativePrompt must not contain control characters \(found U\+0000/,
      extensions: { field: 'negativePrompt', rule: 'characters' },
    },
  ],
  [
    'a negative prompt that is not a string',
    () => submit({ prompt: 'a fox', negativePrompt: ['blur'] }),
    { status: 400, code: 'BAD_USER_INPUT', message: /String cannot represent a non string value/ },
  ],
  [
    'a width that is no multiple of 32',
    () => submit({ prompt: 'a fox', width: 100 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^width must be a multiple of 32 \(got 100\)\.$/,
      extensions: { field: 'width', rule: 'multipleOf' },
    },
  ],
  [
    'a width below the range',
    () => submit({ prompt: 'a fox', width: 32 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^width must be between 64 and 1280 \(got 32\)\.$/,
      extensions: { field: 'width', rule: 'range' },
    },
  ],
  [
    'a height above the range',
    () => submit({ prompt: 'a fox', height: 4_096 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^height must be between 64 and 1280 \(got 4096\)\.$/,
      extensions: { field: 'height', rule: 'range' },
    },
  ],
  [
    'a fractional width',
    () => submit({ prompt: 'a fox', width: 256.5 }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /Int cannot represent non-integer value: 256\.5/,
    },
  ],
  [
    'a width as a string',
    () => submit({ prompt: 'a fox', width: '256' }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /Int cannot represent non-integer value: "256"/,
    },
  ],
  [
    'a height beyond 32 bits',
    () => submit({ prompt: 'a fox', height: 2 ** 40 }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /Int cannot represent non 32-bit signed integer value/,
    },
  ],
  [
    'a frame count not of the form 8k+1',
    () => submit({ prompt: 'a fox', numFrames: 16 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^numFrames must be of the form 8k\+1, for example 9 \(got 16\)\.$/,
      extensions: { field: 'numFrames', rule: 'frameStep' },
    },
  ],
  [
    'too few frames',
    () => submit({ prompt: 'a fox', numFrames: 1 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^numFrames must be between 9 and 257 \(got 1\)\.$/,
      extensions: { rule: 'range' },
    },
  ],
  [
    'a frame rate of zero',
    () => submit({ prompt: 'a fox', frameRate: 0 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^frameRate must be between 1 and 60 \(got 0\)\.$/,
      extensions: { field: 'frameRate', rule: 'range' },
    },
  ],
  [
    'a negative frame rate',
    () => submit({ prompt: 'a fox', frameRate: -5 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^frameRate must be between 1 and 60 \(got -5\)\.$/,
    },
  ],
  [
    'a negative seed',
    () => submit({ prompt: 'a fox', seed: -1 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^seed must be between 0 and 2147483647 \(got -1\)\.$/,
      extensions: { field: 'seed', rule: 'range' },
    },
  ],
  [
    'a video too large for the model',
    () => submit({ prompt: 'a fox', width: 1_280, height: 1_280, numFrames: 257 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^width × height × numFrames is too large: 52800 latent tokens, at most 16384/,
      extensions: { field: 'numFrames', rule: 'maxLatentTokens' },
    },
  ],
  [
    'several mistakes at once (all named)',
    () => submit({ prompt: '', width: 100, seed: -1 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message:
        /^prompt must not be blank\. width must be a multiple of 32 \(got 100\)\. seed must be between/,
      extensions: { field: 'prompt' },
    },
  ],
  [
    'a priority above the range',
    () => submit({ prompt: 'a fox', priority: 11 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^priority must be between -10 and 10 \(got 11\)\.$/,
      extensions: { field: 'priority', rule: 'range' },
    },
  ],
  [
    'a priority below the range',
    () => submit({ prompt: 'a fox', priority: -11 }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^priority must be between -10 and 10 \(got -11\)\.$/,
      extensions: { field: 'priority', rule: 'range' },
    },
  ],
  [
    'a priority as a word',
    () => submit({ prompt: 'a fox', priority: 'high' }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /at "input\.priority"; Int cannot represent non-integer value: "high"/,
    },
  ],
  [
    'a fractional priority',
    () => submit({ prompt: 'a fox', priority: 1.5 }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /at "input\.priority"; Int cannot represent non-integer value: 1\.5/,
    },
  ],
  [
    'a webhookUrl that is no URL',
    () => submit({ prompt: 'a fox', webhookUrl: 'example.com/hook' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^webhookUrl must be an absolute http:\/\/ or https:\/\/ URL\.$/,
      extensions: { field: 'webhookUrl', rule: 'url' },
    },
  ],
  [
    'a webhookUrl of another scheme',
    () => submit({ prompt: 'a fox', webhookUrl: 'file:///etc/passwd' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^webhookUrl must be an http:\/\/ or https:\/\/ URL \(got file\)\.$/,
      extensions: { field: 'webhookUrl', rule: 'url' },
    },
  ],
  [
    'a webhookUrl on a private address',
    () => submit({ prompt: 'a fox', webhookUrl: 'http://10.1.2.3/hook' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message:
        /^webhookUrl must reach a public address: .+ \(the operator can allow private addresses with ZEUS_WEBHOOK_ALLOW_PRIVATE\)\.$/,
      extensions: { field: 'webhookUrl', rule: 'publicAddress' },
    },
  ],
  [
    'a webhookUrl on the cloud metadata address',
    () => submit({ prompt: 'a fox', webhookUrl: 'http://169.254.169.254/latest/meta-data' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^webhookUrl must reach a public address: /,
      extensions: { field: 'webhookUrl', rule: 'publicAddress' },
    },
  ],
  [
    'a webhookUrl on localhost',
    () => submit({ prompt: 'a fox', webhookUrl: 'http://localhost:8080/graphql' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^webhookUrl must reach a public address: localhost is a loopback name /,
      extensions: { field: 'webhookUrl', rule: 'publicAddress' },
    },
  ],
  [
    'unknown webhookEvents',
    () =>
      submit({ prompt: 'a fox', webhookUrl: 'https://example.com/hook', webhookEvents: 'NOPE' }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /at "input\.webhookEvents"; Value "NOPE" does not exist in "WebhookEvents" enum/,
    },
  ],
  [
    'webhookEvents without a webhookUrl',
    () => submit({ prompt: 'a fox', webhookEvents: 'STAGES' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^webhookEvents needs a webhookUrl to send the events to\.$/,
      extensions: { field: 'webhookEvents', rule: 'required' },
    },
  ],
  [
    'a preview that is not a boolean',
    () => submit({ prompt: 'a fox', preview: 'yes' }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /at "input\.preview"; Boolean cannot represent a non boolean value: "yes"/,
    },
  ],
  [
    'an unknown imageId',
    () => submit({ prompt: 'a fox', imageId: '00000000-0000-4000-8000-000000000000' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message:
        /^imageId must be the id of an image uploaded with POST \/uploads in the last \d+ minutes \(with the same API key\); no such upload\. Upload the image again\.$/,
      extensions: { field: 'imageId', rule: 'imageId' },
    },
  ],
  [
    'a malformed imageId',
    () => submit({ prompt: 'a fox', imageId: '../../etc/passwd' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^imageId must be the id of an image uploaded with POST \/uploads/,
      extensions: { field: 'imageId', rule: 'imageId' },
    },
  ],
  [
    'an unknown field in the input',
    () => submit({ prompt: 'a fox', style: 'anime' }),
    {
      status: 400,
      code: 'BAD_USER_INPUT',
      message: /Field "style" is not defined by type "PromptInput"/,
    },
  ],
  [
    'an unknown field in a literal input',
    () => query('mutation { submitPrompt(input: { prompt: "a fox", fps: 3 }) { id } }'),
    {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: /Field "fps" is not defined by type "PromptInput"/,
    },
  ],
];

const requestRows: Row[] = [
  [
    'malformed JSON',
    () => send('{"query": "{ system { model } }"'),
    {
      status: 400,
      code: 'BAD_REQUEST',
      message: /^The request body is not valid JSON \(.+\)\. Send \{"query"/,
    },
  ],
  [
    'JSON that is not an object',
    () => send('"{ system { model } }"'),
    { status: 400, code: 'BAD_REQUEST', message: /^The request body is not valid JSON/ },
  ],
  [
    'no query',
    () => json({ variables: {} }),
    { status: 400, code: 'BAD_REQUEST', message: /must contain a non-empty `query`/ },
  ],
  [
    'a text/plain body',
    () => send('{"query":"{ system { model } }"}', { 'content-type': 'text/plain' }),
    {
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message:
        /^Send GraphQL requests as JSON, with the header "Content-Type: application\/json"\.$/,
    },
  ],
  [
    'a form post',
    () =>
      send('query=%7B+system+%7B+model+%7D+%7D', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /Content-Type: application\/json/ },
  ],
  [
    'a multipart post',
    () =>
      send(
        '--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ system { model } }\r\n--b--',
        {
          'content-type': 'multipart/form-data; boundary=b',
        },
      ),
    { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /Content-Type: application\/json/ },
  ],
  [
    'a body in another charset',
    () =>
      send('{"query":"{ system { model } }"}', {
        'content-type': 'application/json; charset=latin1',
      }),
    { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /as UTF-8/ },
  ],
  [
    'an oversized body',
    () => query(`{ system { model } } # ${'x'.repeat(100_000)}`),
    {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      message: /^The request is too large: at most 65536 bytes\. Send a shorter prompt or query\.$/,
    },
  ],
  [
    'a GET without a preflight header (CSRF)',
    () =>
      send(
        '',
        { accept: 'application/json' },
        'GET',
        '/graphql?query=%7B+system+%7B+model+%7D+%7D',
      ),
    { status: 400, code: 'BAD_REQUEST', message: /Cross-Site Request Forgery/ },
  ],
  [
    'a mutation over GET',
    () =>
      send(
        '',
        { accept: 'application/json', 'apollo-require-preflight': 'true' },
        'GET',
        `/graphql?query=${encodeURIComponent('mutation { submitPrompt(input: { prompt: "x" }) { id } }')}`,
      ),
    {
      status: 405,
      code: 'BAD_REQUEST',
      message: /^GET requests only support query operations, not mutation operations$/,
    },
  ],
  [
    'a syntax error',
    () => query('{ system { model }'),
    { status: 400, code: 'GRAPHQL_PARSE_FAILED', message: /^Syntax Error: Expected Name/ },
  ],
  [
    'an unknown field',
    () => query('{ system { model gpuTemperature } }'),
    {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: /Cannot query field "gpuTemperature" on type "SystemStatus"/,
    },
  ],
  [
    'a deep query (fragments of fragments)',
    () =>
      query(`query { jobs { edges { node { settings { ...A } } } } }
        fragment A on GenerationSettings { ...B } fragment B on GenerationSettings { ...C }
        fragment C on GenerationSettings { ...D } fragment D on GenerationSettings { ...E }
        fragment E on GenerationSettings { prompt }`),
    {
      status: 400,
      code: 'QUERY_TOO_COMPLEX',
      message: /^The query is nested too deeply: at most 8 levels \(got 15\)\./,
      extensions: { rule: 'maxDepth', limit: 8, found: 15 },
    },
  ],
  [
    'a very wide query',
    () =>
      query(
        `{ ${Array.from({ length: 8 }, (_, i) => `j${i}: jobs(first: 100) { edges { node { ${JOB} } } }`).join(' ')} }`,
      ),
    {
      status: 400,
      code: 'QUERY_TOO_COMPLEX',
      message: /^The query asks for too much at once: cost at most 20000 \(got \d+\)\./,
      extensions: { rule: 'maxCost', limit: 20_000 },
    },
  ],
  [
    'many aliases',
    () => query(`{ ${Array.from({ length: 20 }, (_, i) => `s${i}: system { model }`).join(' ')} }`),
    {
      status: 400,
      code: 'QUERY_TOO_COMPLEX',
      message: /^The query has too many aliases: at most 10 \(got 20\)\./,
      extensions: { rule: 'maxAliases', found: 20 },
    },
  ],
  [
    'many aliased mutations',
    () =>
      query(
        `mutation { ${Array.from({ length: 5 }, (_, i) => `m${i}: submitPrompt(input: { prompt: "fox ${i}" }) { id }`).join(' ')} }`,
      ),
    {
      status: 400,
      code: 'QUERY_TOO_COMPLEX',
      message:
        /^An operation may run at most 1 mutation \(got 5\)\. Send each submitPrompt as its own operation\.$/,
      extensions: { rule: 'maxMutationFields', found: 5 },
    },
  ],
  [
    'a document over the token limit',
    () => query(`{ system { ${'model '.repeat(2_100)} } }`),
    {
      status: 400,
      code: 'QUERY_TOO_COMPLEX',
      message: /^The query is too long: at most 2000 tokens\. Ask for fewer fields\.$/,
      extensions: { rule: 'maxTokens', limit: 2_000 },
    },
  ],
  [
    'a batch beyond the limit',
    () => json(Array.from({ length: 11 }, () => ({ query: '{ system { model } }' }))),
    {
      status: 400,
      code: 'BATCH_TOO_LARGE',
      message:
        /^Too many operations in one batch: at most 10 \(got 11\)\. Send them in several requests\.$/,
    },
  ],
  [
    'an unknown job id',
    () => query('{ job(id: "00000000-0000-4000-8000-000000000000") { id } }'),
    {
      status: 200,
      code: 'NOT_FOUND',
      message: /^No job with id "00000000-0000-4000-8000-000000000000"\.$/,
    },
  ],
  [
    'a malformed job id',
    () => query('query ($id: ID!) { job(id: $id) { id } }', { id: '../../etc/passwd' }),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^id must be a job id, a UUID such as .+ \(got "\.\.\/\.\.\/etc\/passwd"\)\.$/,
      extensions: { field: 'id', rule: 'jobId' },
    },
  ],
  ...(['cancelJob', 'retryJob'] as const).flatMap((mutation): Row[] => [
    [
      `${mutation} with an unknown job id`,
      () =>
        query(`mutation ($id: ID!) { ${mutation}(id: $id) { id } }`, {
          id: '00000000-0000-4000-8000-000000000000',
        }),
      {
        status: 200,
        code: 'NOT_FOUND',
        message: /^No job with id "00000000-0000-4000-8000-000000000000"\.$/,
      },
    ],
    [
      `${mutation} with a malformed job id`,
      () => query(`mutation ($id: ID!) { ${mutation}(id: $id) { id } }`, { id: 'job-1; DEL *' }),
      {
        status: 200,
        code: 'BAD_USER_INPUT',
        message: /^id must be a job id, a UUID such as .+ \(got "job-1; DEL \*"\)\.$/,
        extensions: { field: 'id', rule: 'jobId' },
      },
    ],
  ]),
  [
    'a page size out of range',
    () => query('{ jobs(first: 1000) { totalCount } }'),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^first must be between 1 and 100 \(got 1000\)\.$/,
      extensions: { field: 'first', rule: 'range' },
    },
  ],
  [
    'a cursor that is not one',
    () => query('{ jobs(after: "not-a-cursor") { totalCount } }'),
    {
      status: 200,
      code: 'BAD_USER_INPUT',
      message: /^after must be an endCursor returned by jobs\.$/,
      extensions: { field: 'after' },
    },
  ],
];

function check(answer: Answer, expected: Expected): void {
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

describe('bad input through Caddy: a clear error, nothing queued, nothing crashes', () => {
  it.each(inputRows)('PromptInput: %s', async (_name, request, expected) => {
    check(await request(), expected);
  });

  it.each(requestRows)('request: %s', async (_name, request, expected) => {
    check(await request(), expected);
  });

  it('answers a batch within the limit, each operation on its own', async () => {
    const answer = await json([
      { query: '{ system { model } }' },
      { query: '{ nope }' },
      { query: SUBMIT, variables: { input: { prompt: '' } } },
    ]);
    // Apollo answers a batch with the most severe status of its operations.
    expect(answer.status).toBe(400);
    const results = JSON.parse(answer.text) as {
      data?: unknown;
      errors?: { extensions: { code: string } }[];
    }[];
    expect(results.map((result) => result.errors?.[0]?.extensions.code ?? 'ok')).toEqual([
      'ok',
      'GRAPHQL_VALIDATION_FAILED',
      'BAD_USER_INPUT',
    ]);
  });

  it.each([
    '/generated/../../../../etc/passwd',
    '/generated/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/generated/..%2f..%2f..%2fetc%2fpasswd',
    '/generated/%252e%252e/%252e%252e/etc/passwd',
    '/generated/00000000-0000-4000-8000-000000000000/../../package.json',
    '/generated/..\\..\\package.json',
    '/generated/.hidden',
  ])('serves nothing outside generated/ for %s', async (path) => {
    // fetch would normalise the dots away: send the path exactly as written.
    const { request } = await import('node:http');
    const url = new URL(stack.url);
    const answer = await new Promise<Answer>((resolve, reject) => {
      const outgoing = request(
        { host: url.hostname, port: url.port, path, method: 'GET' },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => {
            resolve({ status: response.statusCode ?? 0, text });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
    // Caddy cleans the path first: what climbs out of /generated/ lands on the web app, whose
    // unknown paths get its index page. Either way no file outside the served folders.
    if (answer.status === 200) expect(answer.text).toMatch(/^<!doctype html>/i);
    else expect(answer.status).toBe(404);
    expect(answer.text).not.toMatch(/root:|"workspaces"|\[extensions\]/);
  });
});

describe('WebSocket messages that break the protocol', () => {
  const url = (): string => stack.webSocketUrl;
  const opened = async (socket: RawWebSocket): Promise<RawWebSocket> => {
    await socket.opened;
    return socket;
  };
  const acknowledged = async (params?: Record<string, unknown>): Promise<RawWebSocket> => {
    const socket = await opened(rawWebSocket(url()));
    socket.send({ type: 'connection_init', ...(params === undefined ? {} : { payload: params }) });
    expect(await socket.next()).toEqual({ type: 'connection_ack' });
    return socket;
  };

  it('closes on a message that is not JSON (4400)', async () => {
    const socket = await opened(rawWebSocket(url()));
    socket.send('this is not json');
    expect(await socket.closed).toMatchObject({ code: 4400 });
  });

  it('closes on an unknown message type (4400)', async () => {
    const socket = await acknowledged();
    socket.send({ type: 'launch_missiles' });
    expect(await socket.closed).toMatchObject({ code: 4400 });
  });

  it('closes on a subscribe before connection_init (4401)', async () => {
    const socket = await opened(rawWebSocket(url()));
    socket.send({ id: '1', type: 'subscribe', payload: { query: '{ system { model } }' } });
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('closes on a second connection_init (4429)', async () => {
    const socket = await acknowledged();
    socket.send({ type: 'connection_init' });
    expect(await socket.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('closes a connection that never says connection_init (4408)', async () => {
    const socket = await opened(rawWebSocket(url()));
    expect(await socket.closed).toEqual({
      code: 4408,
      reason: 'Connection initialisation timeout',
    });
  });

  it('closes on a reused subscription id (4409)', async () => {
    const socket = await acknowledged();
    const subscription = {
      type: 'subscribe',
      payload: {
        query: 'subscription { jobUpdated(id: "00000000-0000-4000-8000-000000000001") { id } }',
      },
    };
    // A subscription that stays open needs a job: a ping-pong query does not; reuse the id fast.
    socket.send({ id: 'same', ...subscription });
    socket.send({ id: 'same', ...subscription });
    const outcome = await Promise.race([socket.closed, socket.next()]);
    if ('type' in outcome) {
      // The first ended (unknown job) before the second arrived: nothing to reuse.
      expect(outcome).toMatchObject({ type: 'next', id: 'same' });
      expect(JSON.stringify(outcome)).toMatch(/"code":"NOT_FOUND"/);
    } else {
      expect(outcome).toMatchObject({ code: 4409 });
    }
    socket.close();
  });

  it('closes on a message over 64 KiB (1009)', async () => {
    const socket = await acknowledged();
    socket.send({
      id: '1',
      type: 'subscribe',
      payload: { query: `{ system { model } } # ${'x'.repeat(70_000)}` },
    });
    expect(await socket.closed).toMatchObject({ code: 1009 });
  });

  it('refuses a client without the graphql-ws subprotocol', async () => {
    const socket = rawWebSocket(url(), { protocol: null });
    await socket.opened;
    expect(await socket.closed).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
  });

  it('answers bad operations with an error message and keeps the connection', async () => {
    const socket = await acknowledged();
    socket.send({ id: 'a', type: 'subscribe', payload: { query: '{ system { model' } });
    expect(await socket.next()).toMatchObject({
      id: 'a',
      type: 'error',
      payload: [{ message: expect.stringMatching(/^Syntax Error/) as unknown }],
    });
    const aliases = Array.from({ length: 20 }, (_, i) => `s${i}: system { model }`).join(' ');
    socket.send({ id: 'b', type: 'subscribe', payload: { query: `{ ${aliases} }` } });
    expect(await socket.next()).toMatchObject({
      id: 'b',
      type: 'error',
      payload: [{ extensions: { code: 'QUERY_TOO_COMPLEX', rule: 'maxAliases' } }],
    });
    socket.send({
      id: 'c',
      type: 'subscribe',
      payload: { query: 'subscription { jobUpdated(id: "not-a-job") { id } }' },
    });
    expect(await socket.next()).toMatchObject({
      id: 'c',
      type: 'next',
      payload: { errors: [{ extensions: { code: 'BAD_USER_INPUT', field: 'id', rule: 'jobId' } }] },
    });
    expect(await socket.next()).toEqual({ id: 'c', type: 'complete' });
    socket.send({
      id: 'd',
      type: 'subscribe',
      payload: { query: SUBMIT, variables: { input: { prompt: 'x\u001b[31m' } } },
    });
    const invalid = await socket.next();
    expect(JSON.stringify(invalid)).toMatch(/"code":"BAD_USER_INPUT"/);
    expect(JSON.stringify(invalid)).toMatch(/found U\+001B at position 1/);
    expect(await socket.next()).toEqual({ id: 'd', type: 'complete' });
    // Still connected and answering.
    socket.send({ id: 'e', type: 'subscribe', payload: { query: '{ system { model } }' } });
    expect(await socket.next()).toEqual({
      id: 'e',
      type: 'next',
      payload: { data: { system: { model: 'tiny-random' } } },
    });
    socket.close();
  });

  it('refuses other paths and foreign origins before upgrading', async () => {
    const wrongPath = rawWebSocket(stack.webSocketUrl.replace('/graphql', '/ws'));
    await expect(wrongPath.opened).rejects.toBeInstanceOf(UpgradeRefused);
    const foreign = rawWebSocket(url(), { origin: 'https://evil.example' });
    const refused = await foreign.opened.then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).status).toBe(403);
    expect(JSON.parse((refused as UpgradeRefused).body)).toMatchObject({
      errors: [{ extensions: { code: 'FORBIDDEN' } }],
    });
    // The page's own origin is fine.
    const own = rawWebSocket(url(), { origin: stack.url });
    await own.opened;
    own.close();
  });
});

/**
 * A priority above what a key may use is only wrong with API keys on, so it gets a stack of its
 * own (one API server behind Caddy): bob is allowed nothing above 0, alice up to 3.
 */
describe('priorities not allowed to a key (API keys on)', () => {
  const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789ab' } as const;
  let keyed: LocalStack;

  beforeAll(async () => {
    keyed = await startLocalStack({
      dataDir: join(dir, 'keyed-data'),
      generatedDir: join(dir, 'keyed-generated'),
      port: 0,
      workers: 0,
      apiServers: 1,
      env: {
        ZEUS_MODEL: 'tiny-random',
        ZEUS_LOG_LEVEL: 'warn',
        ZEUS_API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
        ZEUS_KEY_PRIORITIES: 'alice:3',
      },
    });
  });

  afterAll(async () => {
    await keyed.stop();
  });

  const submitAs = async (key: keyof typeof KEYS, input: unknown): Promise<Answer> => {
    const response = await fetch(keyed.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS[key]}` },
      body: JSON.stringify({ query: SUBMIT, variables: { input } }),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, text: await response.text() };
  };

  it.each<Row>([
    [
      'a key not listed, raising its priority',
      () => submitAs('bob', { prompt: 'a fox', priority: 1 }),
      {
        status: 200,
        code: 'FORBIDDEN',
        message:
          /^This API key may not raise a job's priority above 0 \(asked for 1\); the operator can allow it in ZEUS_KEY_PRIORITIES\.$/,
        extensions: { field: 'priority', maxPriority: 0 },
      },
    ],
    [
      'a listed key, above its maximum',
      () => submitAs('alice', { prompt: 'a fox', priority: 4 }),
      {
        status: 200,
        code: 'FORBIDDEN',
        message: /^This API key may use priorities up to 3 \(asked for 4\)\.$/,
        extensions: { field: 'priority', maxPriority: 3 },
      },
    ],
  ])('priority: %s', async (_name, request, expected) => {
    check(await request(), expected);
  });

  it('queued nothing', async () => {
    const response = await fetch(keyed.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.alice}` },
      body: JSON.stringify({ query: '{ system { queueLength running } }' }),
    });
    expect(await response.json()).toEqual({ data: { system: { queueLength: 0, running: 0 } } });
  });
});

describe('after all of it', () => {
  it('queued and stored nothing, and every process is the one that started', async () => {
    const answer = await query('{ system { queueLength running } jobs(first: 1) { totalCount } }');
    expect(JSON.parse(answer.text)).toEqual({
      data: { system: { queueLength: 0, running: 0 }, jobs: { totalCount: 0 } },
    });
    for (const name of stack.processNames) expect(stack.pid(name)).toBe(pidsAtStart.get(name));
    expect(processEvents).toEqual([]);
  });

  it('counted them in each server’s metrics, which Caddy does not serve', async () => {
    const scraped = await Promise.all(
      Object.values(stack.apiAddresses).map(async (address) =>
        (await fetchVia(address, '/metrics')).text(),
      ),
    );
    const total = (pattern: RegExp): number =>
      scraped
        .flatMap((text) => text.split('\n'))
        .filter((line) => pattern.test(line))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(total(/^zeus_api_errors_total\{code="BAD_USER_INPUT"\}/)).toBeGreaterThanOrEqual(
      inputRows.length,
    );
    expect(total(/^zeus_api_errors_total\{code="QUERY_TOO_COMPLEX"\}/)).toBeGreaterThanOrEqual(5);
    expect(total(/^zeus_http_requests_total\{method="POST",route="\/graphql",status="415"\}/)).toBe(
      4,
    );
    expect(scraped[0]).toMatch(/^zeus_jobs\{state="queued"\} 0$/m);
    expect(scraped[0]).toMatch(/^zeus_workers_online\{state="online"\} 0$/m);
    expect(scraped[0]).toMatch(/^zeus_http_request_duration_seconds_bucket\{/m);
    expect(scraped[0]).toMatch(/^process_resident_memory_bytes /m);
    // Through the front door, /metrics is the web app's page, not the figures.
    const front = await fetch(`${stack.url}/metrics`);
    expect(await front.text()).not.toMatch(/zeus_/);
  });
});
