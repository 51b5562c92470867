/**
 * Bad PromptInput, one row each (tests/e2e/bad-input.test.ts): what is sent, and the status,
 * code and message that must come back.
 */
import type { BadInputClient, Row } from './bad-input.ts';

const long = (count: number): string => 'a fox in the snow '.repeat(count).slice(0, count);

/** The prompt limit: tokens when the model's tokenizer is there, characters until then. */
const OVER_THE_LIMIT = {
  status: 200,
  code: 'BAD_USER_INPUT',
  message:
    /^prompt (has \d+ tokens \(counting the end-of-text token\); the model reads at most 256\. Shorten it by \d+\.|must be at most 1024 characters \(got 2000\)\.)$/,
  extensions: { field: 'prompt' },
} as const;

/** The rows, sent with `client`. */
export const promptInputRows = ({ submit, query }: BadInputClient): Row[] => [
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
