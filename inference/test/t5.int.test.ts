import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromptTooLongError } from '@zeus/models';
import { afterAll, describe, expect, it } from 'vitest';
import { T5TextEncoder } from '../src/ltx/text-encoder.ts';
import { maxAbsDiff } from '../src/parity/compare.ts';
import { t5Check } from '../src/parity/checks/t5.ts';
import { Reference } from '../src/parity/reference.ts';
import { CPU_FP32, passed } from '../src/parity/types.ts';
import { GOLDEN_DIR } from './ltx-golden.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-t5-encoder-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('t5 parity check', () => {
  it('passes on the golden reference: encoder within 1e-4, tokenizer cases exact', async () => {
    const reference = await Reference.open(GOLDEN_DIR);
    try {
      const results = await t5Check.run(reference, CPU_FP32);
      const byName = new Map(results.map((result) => [result.name, result]));
      for (const name of [
        't5.last_hidden_state',
        't5.debug.hidden_states_0',
        't5.debug.hidden_states_1',
        'pipeline.negative_prompt_embeds',
      ]) {
        const result = byName.get(name);
        expect(result, name).toBeDefined();
        expect(result?.maxAbsError, name).toBeLessThanOrEqual(reference.tolerance('t5.*', 1e-4));
      }
      expect(byName.get('tokenizer_cases.input_ids')?.maxAbsError).toBe(0);
      expect(byName.get('tokenizer_cases.attention_mask')?.maxAbsError).toBe(0);
      expect(results.filter((result) => !passed(result))).toEqual([]);
    } finally {
      await reference.close();
    }
  });
});

describe('T5TextEncoder', () => {
  it('converts once, encodes prompts, reuses a repeated prompt and refuses long ones', async () => {
    const reference = await Reference.open(GOLDEN_DIR);
    const cacheRoot = await tempDir();
    const options = {
      textEncoderDir: reference.textEncoderDir,
      tokenizerDir: reference.tokenizerDir,
      cacheRoot,
      device: 'cpu' as const,
      dtype: 'float32' as const,
    };
    const encoder = await T5TextEncoder.load(options);
    try {
      const { embeddings, shape } = await encoder.encodeIds(
        await reference.int64('t5.input_ids'),
        await reference.int64('t5.attention_mask'),
      );
      expect(shape).toEqual(reference.shape('t5.last_hidden_state'));
      expect(
        maxAbsDiff(embeddings, await reference.float32('t5.last_hidden_state')),
      ).toBeLessThanOrEqual(reference.tolerance('t5.*', 1e-4));

      const prompt = reference.manifest.run.prompt;
      const first = await encoder.encode(prompt);
      const tokens = encoder.tokenize(prompt);
      expect(first.attentionMask).toEqual(tokens.attentionMask);
      expect(first.tokenCount).toBe(encoder.countTokens(prompt));
      const direct = await encoder.encodeIds(tokens.inputIds, tokens.attentionMask);
      expect(first.embeddings).toEqual(direct.embeddings);
      expect(await encoder.encode(prompt)).toBe(first);

      const long = Array.from({ length: 300 }, () => 'word').join(' ');
      await expect(encoder.encode(long)).rejects.toThrow(PromptTooLongError);
    } finally {
      await encoder.release();
    }

    // A second load finds the conversion in the cache; a session made per prompt gives the same.
    const events: string[] = [];
    const onDemand = await T5TextEncoder.load({
      ...options,
      keepLoaded: false,
      cachedPrompts: 0,
      onConversionProgress: (event) => events.push(event.kind),
    });
    const again = await onDemand.encode(reference.manifest.run.negative_prompt);
    const twice = await onDemand.encode(reference.manifest.run.negative_prompt);
    expect(twice).not.toBe(again);
    expect(twice.embeddings).toEqual(again.embeddings);
    expect(events).not.toContain('writing');
    await onDemand.release();
    await reference.close();
  });
});
