/**
 * Bad requests, one row each (tests/e2e/bad-input.test.ts): HTTP, GraphQL and query mistakes
 * other than a bad PromptInput, and the status, code and message that must come back.
 */
import type { BadInputClient, Row } from './bad-input.ts';

const JOB = 'id status progress settings { prompt seed } error { code message }';

/** The rows, sent with `client`. */
export const badRequestRows = ({ send, json, query }: BadInputClient): Row[] => [
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
