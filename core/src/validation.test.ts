import { describe, expect, it } from 'vitest';
import { InvalidInputError, type FieldProblem } from './errors.ts';
import { latentTokens, modelRules } from './model-rules.ts';
import {
  forbiddenCharacter,
  randomSeed,
  validatePromptRequest,
  type PromptRequest,
} from './validation.ts';

const rules = modelRules('tiny-random');
const fixedSeed = (): number => 42;

function problemsOf(request: PromptRequest): FieldProblem[] {
  try {
    validatePromptRequest(request, rules, fixedSeed);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return [...(error as InvalidInputError).problems];
  }
  throw new Error('expected the request to be rejected');
}

describe('validatePromptRequest', () => {
  it('fills in every default and the drawn seed', () => {
    expect(validatePromptRequest({ prompt: 'a red fox' }, rules, fixedSeed)).toEqual({
      prompt: 'a red fox',
      negativePrompt: 'worst quality, inconsistent motion, blurry, jittery, distorted',
      width: 768,
      height: 512,
      numFrames: 121,
      frameRate: 25,
      seed: 42,
    });
  });

  it('treats null like absent, as GraphQL sends it', () => {
    const settings = validatePromptRequest(
      { prompt: 'x', width: null, height: null, numFrames: null, seed: null },
      rules,
      fixedSeed,
    );
    expect(settings).toMatchObject({ width: 768, height: 512, numFrames: 121, seed: 42 });
  });

  it('keeps every valid setting given', () => {
    const request = {
      prompt: 'p',
      negativePrompt: '',
      width: 64,
      height: 1280,
      numFrames: 9,
      frameRate: 60,
      seed: 0,
    };
    expect(validatePromptRequest(request, rules, fixedSeed)).toEqual(request);
  });

  it.each<[string, PromptRequest, string, string, RegExp]>([
    ['blank prompt', { prompt: '  \n' }, 'prompt', 'required', /prompt must not be blank/],
    [
      'long prompt',
      { prompt: 'a'.repeat(1025) },
      'prompt',
      'maxLength',
      /prompt must be at most 1024 characters \(got 1025\)/,
    ],
    [
      'long negative prompt',
      { prompt: 'p', negativePrompt: 'n'.repeat(2000) },
      'negativePrompt',
      'maxLength',
      /negativePrompt must be at most 1024/,
    ],
    [
      'width off the grid',
      { prompt: 'p', width: 100 },
      'width',
      'multipleOf',
      /width must be a multiple of 32 \(got 100\)/,
    ],
    [
      'height off the grid',
      { prompt: 'p', height: 500 },
      'height',
      'multipleOf',
      /height must be a multiple of 32/,
    ],
    [
      'width too small',
      { prompt: 'p', width: 32 },
      'width',
      'range',
      /width must be between 64 and 1280 \(got 32\)/,
    ],
    ['height too large', { prompt: 'p', height: 1312 }, 'height', 'range', /between 64 and 1280/],
    [
      'frames not 8k+1',
      { prompt: 'p', numFrames: 120 },
      'numFrames',
      'frameStep',
      /numFrames must be of the form 8k\+1, for example 113 \(got 120\)/,
    ],
    ['too few frames', { prompt: 'p', numFrames: 1 }, 'numFrames', 'range', /between 9 and 257/],
    ['too many frames', { prompt: 'p', numFrames: 265 }, 'numFrames', 'range', /between 9 and 257/],
    ['frame rate 0', { prompt: 'p', frameRate: 0 }, 'frameRate', 'range', /between 1 and 60/],
    ['frame rate 61', { prompt: 'p', frameRate: 61 }, 'frameRate', 'range', /between 1 and 60/],
    ['negative seed', { prompt: 'p', seed: -1 }, 'seed', 'range', /seed must be between 0/],
    ['fractional seed', { prompt: 'p', seed: 1.5 }, 'seed', 'integer', /seed must be a whole/],
    [
      'too many latent tokens',
      { prompt: 'p', width: 1280, height: 1280, numFrames: 257 },
      'numFrames',
      'maxLatentTokens',
      /52800 latent tokens, at most 16384/,
    ],
  ])('rejects %s, naming the field and the rule', (_name, request, field, rule, message) => {
    const problems = problemsOf(request);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field, rule });
    expect(problems[0]?.message).toMatch(message);
    expect(problems[0]?.message).toContain(field);
  });

  it('reports every problem at once, the first one in extensions', () => {
    let caught: unknown;
    try {
      validatePromptRequest({ prompt: '', width: 100, frameRate: 0 }, rules, fixedSeed);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    const error = caught as InvalidInputError;
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.problems.map((p) => p.field)).toEqual(['prompt', 'width', 'frameRate']);
    expect(error.details).toMatchObject({ field: 'prompt', rule: 'required' });
  });

  it('suggests the nearest valid frame count at the low end', () => {
    expect(problemsOf({ prompt: 'p', numFrames: 8 })[0]?.rule).toBe('range');
    expect(problemsOf({ prompt: 'p', numFrames: 12 })[0]?.message).toContain('for example 9');
  });
});

describe('prompt characters', () => {
  it('refuses control characters and lone surrogates, naming the first one and where it is', () => {
    for (const [text, codePoint, index] of [
      ['a\u0000b', 'U+0000', 1],
      ['bell\u0007', 'U+0007', 4],
      ['\u001Bescape', 'U+001B', 0],
      ['del\u007F', 'U+007F', 3],
      ['c1\u0085', 'U+0085', 2],
      ['half \uD83D pair', 'U+D83D', 5],
      ['\uDE00 low half', 'U+DE00', 0],
    ] as const) {
      const problems = problemsOf({ prompt: text });
      expect(problems).toEqual([
        {
          field: 'prompt',
          rule: 'characters',
          message: `prompt must not contain control characters (found ${codePoint} at position ${index}); remove it. Tabs and line breaks are allowed.`,
        },
      ]);
      expect(forbiddenCharacter(text)).toEqual({ codePoint, index });
    }
    expect(problemsOf({ prompt: 'ok', negativePrompt: 'x\u0001' })[0]).toMatchObject({
      field: 'negativePrompt',
      rule: 'characters',
    });
  });

  it('accepts tabs, line breaks, emoji and any script', () => {
    for (const prompt of [
      'a\tb',
      'line\nbreak\r\n',
      'a fox 🦊 in snow',
      'лиса в снегу',
      '雪の中の狐',
    ]) {
      expect(forbiddenCharacter(prompt)).toBeNull();
      expect(validatePromptRequest({ prompt }, rules, fixedSeed).prompt).toBe(prompt);
    }
  });
});

describe("prompt tokens (with the model's tokenizer)", () => {
  /** One token per word, plus the end-of-text token: enough to test the rule. */
  const countWords = (text: string): number => text.trim().split(/\s+/).filter(Boolean).length + 1;

  it('accepts up to maxPromptTokens tokens, end-of-text included, whatever the length in characters', () => {
    const longWords = Array.from({ length: 255 }, () => 'x'.repeat(10)).join(' ');
    expect(longWords.length).toBeGreaterThan(rules.maxPromptChars);
    expect(validatePromptRequest({ prompt: longWords }, rules, fixedSeed, countWords).prompt).toBe(
      longWords,
    );
  });

  it('refuses more, naming the field, the count and the limit', () => {
    const prompt = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    let error: unknown;
    try {
      validatePromptRequest({ prompt, negativePrompt: 'fine' }, rules, fixedSeed, countWords);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).problems).toEqual([
      {
        field: 'prompt',
        rule: 'maxTokens',
        message:
          'prompt has 301 tokens (counting the end-of-text token); the model reads at most 256. Shorten it by 45.',
      },
    ]);
    expect((error as InvalidInputError).details).toMatchObject({
      field: 'prompt',
      rule: 'maxTokens',
    });
  });

  it('refuses a text too long to be within the limit before tokenizing it', () => {
    const texts: string[] = [];
    const counting = (text: string): number => {
      texts.push(text);
      return countWords(text);
    };
    // A token is at most 16 characters in T5's vocabulary: more than 16 per allowed token
    // cannot fit, and is refused by its length alone.
    const prompt = 'x'.repeat(rules.maxPromptTokens * 16 + 1);
    let error: unknown;
    try {
      validatePromptRequest({ prompt }, rules, fixedSeed, counting);
    } catch (caught) {
      error = caught;
    }
    expect((error as InvalidInputError).problems).toEqual([
      {
        field: 'prompt',
        rule: 'maxLength',
        message: `prompt must be at most ${rules.maxPromptTokens * 16} characters (got ${prompt.length}); the model reads at most ${rules.maxPromptTokens} tokens.`,
      },
    ]);
    expect(texts).not.toContain(prompt);
  });

  it('counts the negative prompt too', () => {
    const negativePrompt = Array.from({ length: 256 }, () => 'n').join(' ');
    expect(() =>
      validatePromptRequest({ prompt: 'p', negativePrompt }, rules, fixedSeed, countWords),
    ).toThrow(/negativePrompt has 257 tokens/);
  });
});

describe('model rules', () => {
  it('counts latent tokens as 32×32 pixels × 8 frames, plus the first frame', () => {
    expect(latentTokens(rules, { width: 768, height: 512, numFrames: 121 })).toBe(24 * 16 * 16);
    expect(latentTokens(rules, { width: 64, height: 64, numFrames: 9 })).toBe(2 * 2 * 2);
  });

  it('keeps the defaults valid', () => {
    const d = rules.defaults;
    expect(d.width % rules.sizeMultiple).toBe(0);
    expect(d.height % rules.sizeMultiple).toBe(0);
    expect((d.numFrames - 1) % rules.frameStep).toBe(0);
    expect(latentTokens(rules, d)).toBeLessThanOrEqual(rules.maxLatentTokens);
  });

  it('draws seeds within the range', () => {
    for (let i = 0; i < 100; i += 1) {
      const seed = randomSeed(rules);
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(rules.seed.min);
      expect(seed).toBeLessThanOrEqual(rules.seed.max);
    }
  });
});
