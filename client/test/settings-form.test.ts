import { describe, expect, it } from 'vitest';
import {
  defaultValues,
  latentTokens,
  ruleHints,
  validateForm,
  valuesFromSettings,
  type FormValues,
} from '../src/jobs/settings-form.ts';
import { RULES } from './fixtures.ts';

const valid: FormValues = { ...defaultValues(RULES), prompt: 'a fox in the snow' };

describe('validateForm', () => {
  it('turns valid values into PromptInput, leaving an empty seed to the server', () => {
    expect(validateForm(valid, RULES)).toEqual({
      input: {
        prompt: 'a fox in the snow',
        negativePrompt: 'worst quality, blurry',
        width: 768,
        height: 512,
        numFrames: 121,
        frameRate: 25,
      },
      count: 1,
      errors: {},
    });
    expect(validateForm({ ...valid, seed: ' 42 ' }, RULES).input?.seed).toBe(42);
  });

  it('makes several videos up to the batch limit, each with its own seed, at a priority', () => {
    expect(validateForm({ ...valid, count: '4', priority: '5' }, RULES, 6)).toMatchObject({
      count: 4,
      input: { priority: 5 },
      errors: {},
    });
    expect(validateForm({ ...valid, count: '7' }, RULES, 6).errors.count).toBe(
      'Videos must be from 1 to 6.',
    );
    expect(validateForm({ ...valid, count: '2', seed: '3' }, RULES, 6).errors.count).toMatch(
      /leave the seed empty/,
    );
    expect(validateForm({ ...valid, priority: '0' }, RULES).input).not.toHaveProperty('priority');
  });

  it('asks for a prompt', () => {
    const { input, errors } = validateForm({ ...valid, prompt: '   ' }, RULES);
    expect(input).toBeNull();
    expect(errors.prompt).toBe('Write a prompt: it says what the video shows.');
  });

  it('bounds prompts by the model’s character limit', () => {
    const { errors } = validateForm({ ...valid, prompt: 'x'.repeat(1025) }, RULES);
    expect(errors.prompt).toBe('The prompt is too long: 1,025 characters, at most 1,024.');
  });

  it('names the size rule and the nearest valid sizes', () => {
    const { errors } = validateForm({ ...valid, width: '250', height: '2000' }, RULES);
    expect(errors.width).toBe('Width must be a multiple of 32 (try 224 or 256).');
    expect(errors.height).toBe('Height must be from 64 to 1,280 pixels.');
  });

  it('wants frame counts of the form 8k + 1', () => {
    expect(validateForm({ ...valid, numFrames: '20' }, RULES).errors.numFrames).toBe(
      'Frames must be 8k + 1 (try 17 or 25).',
    );
    expect(validateForm({ ...valid, numFrames: 'ten' }, RULES).errors.numFrames).toBe(
      'Frames must be a whole number.',
    );
  });

  it('rejects videos over the latent token budget', () => {
    const { errors } = validateForm(
      { ...valid, width: '1280', height: '1280', numFrames: '257' },
      RULES,
    );
    expect(errors.numFrames).toBe(
      '1280×1280 with 257 frames is 52,800 latent tokens; the model allows at most 16,384: ' +
        'use fewer frames or a smaller size.',
    );
  });

  it('checks the seed range and frame rate', () => {
    const { errors } = validateForm({ ...valid, seed: '-1', frameRate: '0' }, RULES);
    expect(errors.seed).toBe('Seed must be from 0 to 2,147,483,647.');
    expect(errors.frameRate).toBe('Frame rate must be from 1 to 60 fps.');
  });
});

describe('helpers', () => {
  it('counts latent tokens as the schema defines them', () => {
    expect(latentTokens(RULES, 768, 512, 121)).toBe(24 * 16 * 16);
  });

  it('states the rules in words', () => {
    expect(ruleHints(RULES)).toEqual({
      width: 'Multiple of 32, 64–1280 px',
      height: 'Multiple of 32, 64–1280 px',
      numFrames: '8k + 1, 9–257',
      frameRate: '1–60 fps',
      seed: 'Empty for a random one, or 0–2,147,483,647',
      count: '1–1, each with its own random seed',
      priority: 'Higher runs first, when this Zeus lets you raise it',
    });
  });

  it('fills the form from a past job, with a new seed unless kept', () => {
    const settings = {
      prompt: 'p',
      negativePrompt: 'n',
      width: 256,
      height: 128,
      numFrames: 17,
      frameRate: 12,
      seed: 9,
    };
    expect(valuesFromSettings(settings)).toEqual({
      prompt: 'p',
      negativePrompt: 'n',
      width: '256',
      height: '128',
      numFrames: '17',
      frameRate: '12',
      seed: '',
      count: '1',
      priority: '0',
    });
    expect(valuesFromSettings(settings, true).seed).toBe('9');
  });
});
