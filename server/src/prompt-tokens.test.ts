import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@zeus/core';
import { generateTinyModel, T5Tokenizer, TOKENIZER_DIR } from '@zeus/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptTokens } from './prompt-tokens.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-prompt-tokens-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PromptTokens', () => {
  it('has no counter until the tokenizer is there, then counts with it', async () => {
    const modelDir = join(dir, 'model');
    const tokens = new PromptTokens({
      tokenizerDir: join(modelDir, TOKENIZER_DIR),
      logger: createLogger('test', 'silent'),
      retryMs: 0,
    });
    expect(await tokens.counter()).toBeUndefined();

    await generateTinyModel(modelDir, { seed: 1, checkpointFile: 'tiny.safetensors' });
    const counter = await tokens.counter();
    expect(counter).toBeDefined();
    const tokenizer = await T5Tokenizer.load(join(modelDir, TOKENIZER_DIR));
    const prompt = 'a red fox running through fresh snow at sunrise';
    expect(counter?.(prompt)).toBe(tokenizer.countTokens(prompt));
    expect(counter?.(prompt)).toBe(tokenizer.tokenize(prompt).length);
  });

  it('looks for a missing tokenizer at most once per retry interval', async () => {
    const modelDir = join(dir, 'later');
    const tokens = new PromptTokens({
      tokenizerDir: join(modelDir, TOKENIZER_DIR),
      logger: createLogger('test', 'silent'),
      retryMs: 60_000,
    });
    expect(await tokens.counter()).toBeUndefined();
    await generateTinyModel(modelDir, { seed: 1, checkpointFile: 'tiny.safetensors' });
    // Within the interval the earlier answer stands.
    expect(await tokens.counter()).toBeUndefined();
  });
});
