import { describe, expect, it } from 'vitest';
import { InvalidInputError, type FieldProblem } from './errors.ts';
import { modelRules } from './model-rules.ts';
import {
  validateBatch,
  validateSubmission,
  type BatchRequest,
  type SubmissionRequest,
  type SubmissionRules,
} from './submission.ts';

let drawn = 0;
const rules: SubmissionRules = {
  rules: modelRules('tiny-random'),
  drawSeed: () => (drawn += 1),
  webhooks: { enabled: true, allowPrivate: false },
  maxBatch: 8,
};

function problemsOf(run: () => unknown): FieldProblem[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return [...(error as InvalidInputError).problems];
  }
  throw new Error('expected the request to be rejected');
}

const submit = (request: SubmissionRequest, with_ = rules) => validateSubmission(request, with_);
const batch = (request: BatchRequest, with_ = rules) => validateBatch(request, with_);

describe('validateSubmission', () => {
  it('fills in priority 0 and no webhook, or takes them as given', () => {
    expect(submit({ prompt: 'a fox', seed: 3 })).toMatchObject({
      settings: { prompt: 'a fox', seed: 3 },
      priority: 0,
      webhook: null,
    });
    expect(
      submit({
        prompt: 'a fox',
        priority: -4,
        webhookUrl: 'https://hooks.example.com/x',
        webhookEvents: 'STAGES',
      }),
    ).toMatchObject({
      priority: -4,
      webhook: { url: 'https://hooks.example.com/x', events: 'STAGES' },
    });
    expect(submit({ prompt: 'a fox', webhookUrl: 'https://example.com' }).webhook).toEqual({
      url: 'https://example.com/',
      events: 'FINAL',
    });
  });

  it('reports every problem at once: settings, priority and webhook', () => {
    const problems = problemsOf(() =>
      submit({ prompt: ' ', width: 100, priority: 11, webhookUrl: 'ftp://example.com' }),
    );
    expect(problems.map((p) => `${p.field}:${p.rule}`)).toEqual([
      'prompt:required',
      'width:multipleOf',
      'priority:range',
      'webhookUrl:url',
    ]);
    expect(problemsOf(() => submit({ prompt: 'x', priority: 1.5 }))[0]?.rule).toBe('range');
    expect(problemsOf(() => submit({ prompt: 'x', webhookEvents: 'FINAL' }))[0]).toMatchObject({
      field: 'webhookEvents',
      rule: 'required',
    });
  });

  it('refuses webhooks when they are off, and private addresses unless allowed', () => {
    const off = { ...rules, webhooks: { enabled: false, allowPrivate: false } };
    expect(
      problemsOf(() => submit({ prompt: 'x', webhookUrl: 'https://example.com' }, off))[0],
    ).toMatchObject({ field: 'webhookUrl', rule: 'webhooksOff' });
    expect(
      problemsOf(() => submit({ prompt: 'x', webhookUrl: 'http://127.0.0.1:8080/hook' }))[0],
    ).toMatchObject({ field: 'webhookUrl', rule: 'publicAddress' });
    const allowed = { ...rules, webhooks: { enabled: true, allowPrivate: true } };
    expect(
      submit({ prompt: 'x', webhookUrl: 'http://127.0.0.1:8080/hook' }, allowed).webhook?.url,
    ).toBe('http://127.0.0.1:8080/hook');
  });
});

describe('validateBatch', () => {
  it('makes one job per prompt and seed, prompts first', () => {
    const jobs = batch({
      settings: { prompt: 'a fox', width: 256, height: 256, numFrames: 17, priority: 2 },
      prompts: ['a cat'],
      seeds: [1, 2, 3],
    });
    expect(jobs.map((job) => [job.settings.prompt, job.settings.seed])).toEqual([
      ['a fox', 1],
      ['a fox', 2],
      ['a fox', 3],
      ['a cat', 1],
      ['a cat', 2],
      ['a cat', 3],
    ]);
    expect(jobs.every((job) => job.settings.width === 256 && job.priority === 2)).toBe(true);
  });

  it('draws a seed per job with count, or uses settings.seed for every prompt', () => {
    const counted = batch({ settings: { prompt: 'a fox' }, count: 4 });
    expect(new Set(counted.map((job) => job.settings.seed)).size).toBe(4);
    const same = batch({ settings: { prompt: 'a fox', seed: 9 }, prompts: ['a cat'] });
    expect(same.map((job) => job.settings.seed)).toEqual([9, 9]);
    expect(batch({ settings: { prompt: 'one' } })).toHaveLength(1);
  });

  it('bounds the batch and refuses conflicting or bad entries, naming each', () => {
    expect(
      problemsOf(() => batch({ settings: { prompt: 'x' }, prompts: ['a', 'b'], count: 3 })),
    ).toEqual([
      {
        field: 'prompts',
        rule: 'maxBatch',
        message: 'A batch may have at most 8 jobs (got 3 prompts × 3 = 9).',
      },
    ]);
    const problems = problemsOf(() =>
      batch({
        settings: { prompt: 'x', seed: 1, width: 100 },
        prompts: ['fine', ' \u0007 '],
        seeds: [5, -1],
        count: 2,
      }),
    );
    expect(problems.map((p) => `${p.field}:${p.rule}`)).toEqual([
      'settings.width:multipleOf',
      'count:conflict',
      'settings.seed:conflict',
      'seeds.1:range',
      'prompts.1:characters',
    ]);
    expect(problems.at(-1)?.message).toMatch(/^prompts\.1 must not contain control characters/);
    expect(problemsOf(() => batch({ settings: { prompt: 'x' }, seeds: [] }))[0]?.rule).toBe(
      'required',
    );
    expect(problemsOf(() => batch({ settings: { prompt: 'x' }, count: 0 }))[0]?.rule).toBe('range');
  });
});

describe('token counting in batches', () => {
  it('tokenizes each distinct text once, however many jobs share it', () => {
    const counted: string[] = [];
    const counting: SubmissionRules = {
      ...rules,
      countTokens: (text) => {
        counted.push(text);
        return text.split(' ').length + 1;
      },
    };
    const jobs = batch(
      {
        settings: { prompt: 'a fox', negativePrompt: 'blurry' },
        prompts: ['an owl', 'a fox', 'a hare'],
        seeds: [1, 2],
      },
      counting,
    );
    expect(jobs).toHaveLength(8);
    expect([...counted].sort()).toEqual(['a fox', 'a hare', 'an owl', 'blurry']);
  });
});
