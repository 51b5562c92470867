import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';
import { PrecompiledCharsmap } from '../src/tokenizer/precompiled-charsmap.ts';
import {
  encodeSentencePieceModel,
  parseSentencePieceModel,
  PIECE_TYPE,
} from '../src/tokenizer/sentencepiece-model.ts';
import { PromptTooLongError, pythonStrip, T5Tokenizer } from '../src/tokenizer/t5-tokenizer.ts';

const GOLDEN = ltxGoldenDir();

interface TokenizerCase {
  readonly text: string;
  readonly input_ids: readonly number[];
  readonly attention_mask: readonly number[];
}

async function goldenCases(): Promise<readonly TokenizerCase[]> {
  const file = JSON.parse(await readFile(join(GOLDEN, 'tokenizer_cases.json'), 'utf8')) as {
    cases: TokenizerCase[];
  };
  return file.cases;
}

describe('T5Tokenizer on the golden tokenizer', () => {
  it('gives exactly the ids and masks of transformers for every case', async () => {
    const tokenizer = await T5Tokenizer.load(join(GOLDEN, 'tokenizer'));
    const cases = await goldenCases();
    expect(cases.length).toBeGreaterThan(0);
    for (const { text, input_ids, attention_mask } of cases) {
      const encoded = tokenizer.encode(text, {
        maxLength: input_ids.length,
        overflow: 'truncate',
      });
      expect(Array.from(encoded.inputIds, Number), JSON.stringify(text)).toEqual(input_ids);
      expect(Array.from(encoded.attentionMask, Number), JSON.stringify(text)).toEqual(
        attention_mask,
      );
    }
  });

  it('counts tokens and refuses prompts over the limit instead of truncating', async () => {
    const tokenizer = await T5Tokenizer.load(join(GOLDEN, 'tokenizer'));
    const long = (await goldenCases()).find((c) => c.attention_mask.every((bit) => bit === 1));
    expect(long).toBeDefined();
    const count = tokenizer.countTokens(long?.text ?? '');
    expect(count).toBeGreaterThan(256);
    expect(() => tokenizer.encode(long?.text ?? '')).toThrow(PromptTooLongError);
    try {
      tokenizer.encode(long?.text ?? '');
    } catch (error) {
      expect(error).toMatchObject({ tokenCount: count, maxLength: 256, code: 'PROMPT_TOO_LONG' });
      expect((error as Error).message).toContain(`is ${count - 1} tokens long`);
      expect((error as Error).message).toContain('the limit is 255 tokens');
    }
    const exact = tokenizer.encode(long?.text ?? '', { maxLength: count });
    expect(exact.truncated).toBe(false);
    expect(exact.tokenCount).toBe(count);
    expect(Number(exact.inputIds[count - 1])).toBe(tokenizer.eosId);
    expect(tokenizer.countTokens('')).toBe(1);
  });

  it('strips the prompt like Python str.strip()', () => {
    expect(pythonStrip('\u3000\x1c a b \t\n\x85')).toBe('a b');
    expect(pythonStrip('\ufeffa')).toBe('\ufeffa');
  });

  it('splits out special tokens written in the text', async () => {
    const tokenizer = await T5Tokenizer.load(join(GOLDEN, 'tokenizer'));
    const ids = tokenizer.tokenize('a <extra_id_0> b</s>');
    expect(ids).toContain(tokenizer.vocabSize - 1);
    expect(ids.filter((id) => id === tokenizer.eosId)).toHaveLength(2);
  });
});

describe('PrecompiledCharsmap', () => {
  it("applies the golden model's nmt_nfkc rules", async () => {
    const model = parseSentencePieceModel(await readFile(join(GOLDEN, 'tokenizer/spiece.model')));
    expect(model.normalizerSpec.name).toBe('nmt_nfkc');
    const charsmap = PrecompiledCharsmap.parse(model.normalizerSpec.precompiledCharsmap);
    // NFKC folds compatibility forms; the NMT rules drop controls and map odd spaces to ' '.
    expect(charsmap.normalize('ﬁ ＡＢＣ ① ㎏ e\u0301')).toBe('fi ABC 1 kg é');
    expect(charsmap.normalize('a\u0001b\tc\u200bd\u3000e')).toBe('ab c d e');
    expect(charsmap.normalize('東京 🚀')).toBe('東京 🚀');
  });
});

describe('SentencePiece model files', () => {
  it('round-trips the golden model', async () => {
    const bytes = await readFile(join(GOLDEN, 'tokenizer/spiece.model'));
    const model = parseSentencePieceModel(bytes);
    expect(parseSentencePieceModel(encodeSentencePieceModel(model))).toEqual(model);
  });

  it('writes a model the tokenizer loads', () => {
    const pieces = [
      { piece: '<pad>', score: 0, type: PIECE_TYPE.CONTROL },
      { piece: '</s>', score: 0, type: PIECE_TYPE.CONTROL },
      { piece: '<unk>', score: 0, type: PIECE_TYPE.UNKNOWN },
      { piece: '▁', score: -2, type: PIECE_TYPE.NORMAL },
      { piece: '▁hello', score: -3, type: PIECE_TYPE.NORMAL },
      { piece: 'w', score: -4, type: PIECE_TYPE.NORMAL },
      { piece: 'or', score: -4, type: PIECE_TYPE.NORMAL },
      { piece: 'ld', score: -4, type: PIECE_TYPE.NORMAL },
    ];
    const spieceModel = encodeSentencePieceModel({
      pieces,
      trainerSpec: { vocabSize: pieces.length, unkId: 2, eosId: 1, padId: 0, bosId: -1 },
      normalizerSpec: { name: 'identity' },
    });
    const tokenizer = T5Tokenizer.fromFiles({
      spieceModel,
      tokenizerConfig: { extra_ids: 2, eos_token: '</s>', pad_token: '<pad>' },
      addedTokens: { '<extra_id_0>': 9, '<extra_id_1>': 8 },
    });
    expect(tokenizer.vocabSize).toBe(10);
    expect(tokenizer.tokenize('  hello   world ')).toEqual([4, 3, 5, 6, 7, 1]);
    expect(tokenizer.tokenize('hello!')).toEqual([4, 2, 1]);
    const encoded = tokenizer.encode('hello', { maxLength: 4 });
    expect(Array.from(encoded.inputIds)).toEqual([4n, 1n, 0n, 0n]);
    expect(Array.from(encoded.attentionMask)).toEqual([1n, 1n, 0n, 0n]);
    expect(() =>
      T5Tokenizer.fromFiles({ spieceModel, addedTokens: { '<extra_id_0>': 5 } }),
    ).toThrow(/added_tokens.json gives "<extra_id_0>" id 5/);
  });
});
