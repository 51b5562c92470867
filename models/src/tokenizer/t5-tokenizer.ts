/**
 * The T5 tokenizer of a Hugging Face `tokenizer/` folder that holds only `spiece.model` (plus
 * `tokenizer_config.json`, `special_tokens_map.json`, `added_tokens.json`), as LTX-Video's
 * `PixArt-alpha/PixArt-XL-2-1024-MS/tokenizer` does, padded and masked the way the pipeline
 * calls it: prompt `strip()`ped, EOS appended, padded with the pad id to `maxLength`.
 *
 * The SentencePiece model is turned at load time into the `tokenizer.json` structure that
 * transformers' `T5Converter` produces (Unigram model, Precompiled + Strip + Replace
 * normaliser, Metaspace pre-tokenizer, `$A </s>` template), which @huggingface/tokenizers runs.
 * Its Precompiled normaliser only approximates the charsmap, so it is replaced by the exact
 * one (precompiled-charsmap.ts).
 *
 * Unlike the pipeline, which silently truncates, `encode` refuses prompts over the limit by
 * default (`PromptTooLongError` says by how much); `overflow: 'truncate'` reproduces the
 * pipeline for comparisons.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Normalizer, Tokenizer } from '@huggingface/tokenizers';
import { PrecompiledCharsmap } from './precompiled-charsmap.ts';
import {
  MODEL_TYPE,
  parseSentencePieceModel,
  PIECE_TYPE,
  type SentencePieceModel,
} from './sentencepiece-model.ts';

/** LTX-Video's `text_encoder_max_tokens` default. */
export const T5_MAX_TOKENS = 256;

/** SentencePiece's whitespace symbol. */
const SPACE_SYMBOL = '\u2581';

export class TokenizerLoadError extends Error {
  override readonly name = 'TokenizerLoadError';
}

/** A prompt that needs more tokens than the text encoder takes. */
export class PromptTooLongError extends Error {
  override readonly name = 'PromptTooLongError';
  readonly code = 'PROMPT_TOO_LONG';

  constructor(
    /** Tokens the prompt needs, end-of-sequence token included. */
    readonly tokenCount: number,
    readonly maxLength: number,
  ) {
    super(
      `The prompt is ${tokenCount - 1} tokens long; the limit is ${maxLength - 1} tokens ` +
        `(${maxLength} with the end-of-sequence token). Shorten it by ${tokenCount - maxLength} ` +
        `token${tokenCount - maxLength === 1 ? '' : 's'}.`,
    );
  }
}

export interface EncodeOptions {
  /** Length of the padded sequence, EOS included. Default 256. */
  readonly maxLength?: number;
  /**
   * What to do with a prompt over `maxLength` tokens: throw `PromptTooLongError` (default), or
   * keep the first `maxLength − 1` tokens and the EOS as the official pipeline does.
   */
  readonly overflow?: 'error' | 'truncate';
}

export interface EncodedPrompt {
  /** Token ids, EOS appended, padded with the pad id: `[maxLength]`. */
  readonly inputIds: BigInt64Array;
  /** 1 on tokens (EOS included), 0 on padding: `[maxLength]`. */
  readonly attentionMask: BigInt64Array;
  /** Tokens the prompt needs, EOS included, before padding or truncation. */
  readonly tokenCount: number;
  readonly truncated: boolean;
}

/** The files of a tokenizer folder, parsed (`tokenizer_config.json` etc. may be absent). */
export interface T5TokenizerFiles {
  readonly spieceModel: Uint8Array;
  readonly tokenizerConfig?: Readonly<Record<string, unknown>>;
  readonly addedTokens?: Readonly<Record<string, number>>;
}

export class T5Tokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly eosId: number,
    readonly padId: number,
    /** Vocabulary size including the extra ids (the encoder's embedding rows). */
    readonly vocabSize: number,
  ) {}

  /** Loads a Hugging Face T5 tokenizer folder. */
  static async load(dir: string): Promise<T5Tokenizer> {
    const spieceModel = await readFile(join(dir, 'spiece.model')).catch((error: unknown) => {
      throw new TokenizerLoadError(`No readable spiece.model in ${dir}`, { cause: error });
    });
    return T5Tokenizer.fromFiles({
      spieceModel,
      ...optional('tokenizerConfig', await readJson(join(dir, 'tokenizer_config.json'))),
      ...optional(
        'addedTokens',
        (await readJson(join(dir, 'added_tokens.json'))) as Record<string, number> | undefined,
      ),
    });
  }

  static fromFiles(files: T5TokenizerFiles): T5Tokenizer {
    const model = parseSentencePieceModel(files.spieceModel);
    const json = t5TokenizerJson(model, files.tokenizerConfig ?? {});
    checkAddedTokens(json, files.addedTokens ?? {});
    const tokenizer = new Tokenizer(json, { eos_token: json.eosToken });
    tokenizer.normalizer = new ExactSentencePieceNormalizer(
      model.normalizerSpec.precompiledCharsmap,
    );
    return new T5Tokenizer(tokenizer, json.eosId, json.padId, json.model.vocab.length);
  }

  /** Token ids of `text` (stripped as the pipeline does), EOS included, unpadded. */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(pythonStrip(text), { add_special_tokens: true }).ids;
  }

  /** Tokens the prompt needs, EOS included: it fits when this is at most `maxLength`. */
  countTokens(text: string): number {
    return this.tokenize(text).length;
  }

  /** Ids and mask for the text encoder, padded to `maxLength`. */
  encode(text: string, options: EncodeOptions = {}): EncodedPrompt {
    const maxLength = options.maxLength ?? T5_MAX_TOKENS;
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new RangeError(`maxLength must be a positive integer, got ${maxLength}`);
    }
    const ids = this.tokenize(text);
    const tokenCount = ids.length;
    const truncated = tokenCount > maxLength;
    if (truncated) {
      if (options.overflow !== 'truncate') throw new PromptTooLongError(tokenCount, maxLength);
      ids.length = maxLength - 1;
      ids.push(this.eosId);
    }
    const inputIds = new BigInt64Array(maxLength).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(maxLength);
    ids.forEach((id, index) => {
      inputIds[index] = BigInt(id);
      attentionMask[index] = 1n;
    });
    return { inputIds, attentionMask, tokenCount, truncated };
  }
}

/** The `tokenizer.json` object that transformers' `T5Converter` makes from a SentencePiece model. */
export interface T5TokenizerJson {
  readonly model: {
    readonly type: 'Unigram';
    readonly unk_id: number;
    readonly vocab: [string, number][];
    readonly byte_fallback: false;
  };
  readonly added_tokens: {
    readonly id: number;
    readonly content: string;
    readonly single_word: false;
    readonly lstrip: false;
    readonly rstrip: false;
    readonly normalized: false;
    readonly special: true;
  }[];
  readonly normalizer: object;
  readonly pre_tokenizer: object;
  readonly post_processor: object;
  readonly decoder: object;
  readonly eosToken: string;
  readonly eosId: number;
  readonly padId: number;
}

/**
 * Builds the converter's structure: the pieces (and scores) followed by `extra_ids` sentinel
 * tokens `<extra_id_{n-1}>` … `<extra_id_0>`; control pieces, `<unk>` and the sentinels are
 * special added tokens, matched in the raw text before normalisation.
 */
export function t5TokenizerJson(
  model: SentencePieceModel,
  tokenizerConfig: Readonly<Record<string, unknown>>,
): T5TokenizerJson {
  if (model.trainerSpec.modelType !== MODEL_TYPE.UNIGRAM) {
    throw new TokenizerLoadError(
      `spiece.model is not a Unigram model (model type ${model.trainerSpec.modelType})`,
    );
  }
  const extraIds = tokenizerConfig['extra_ids'] ?? 100;
  if (typeof extraIds !== 'number' || !Number.isInteger(extraIds) || extraIds < 0) {
    throw new TokenizerLoadError(
      `tokenizer_config.json: extra_ids must be a count, got ${JSON.stringify(extraIds)}`,
    );
  }
  const vocab: [string, number][] = model.pieces.map(({ piece, score }) => [piece, score]);
  for (let i = extraIds - 1; i >= 0; i--) vocab.push([`<extra_id_${i}>`, 0]);
  const idOf = (token: string): number => {
    const id = vocab.findIndex(([piece]) => piece === token);
    if (id < 0) throw new TokenizerLoadError(`spiece.model has no "${token}" piece`);
    return id;
  };
  const eosToken = configToken(tokenizerConfig, 'eos_token') ?? model.trainerSpec.eosPiece;
  const padToken = configToken(tokenizerConfig, 'pad_token') ?? model.trainerSpec.padPiece;
  const eosId = idOf(eosToken);
  const padId = idOf(padToken);
  const special = new Set<number>([eosId, padId, model.trainerSpec.unkId]);
  model.pieces.forEach(({ type }, id) => {
    if (type === PIECE_TYPE.CONTROL || type === PIECE_TYPE.USER_DEFINED) special.add(id);
  });
  for (let id = model.pieces.length; id < vocab.length; id++) special.add(id);
  const added_tokens = [...special]
    .sort((a, b) => a - b)
    .map((id) => ({
      id,
      content: vocab[id]?.[0] ?? '',
      single_word: false as const,
      lstrip: false as const,
      rstrip: false as const,
      normalized: false as const,
      special: true as const,
    }));
  const prependScheme = tokenizerConfig['legacy'] === false ? 'first' : 'always';
  return {
    model: { type: 'Unigram', unk_id: model.trainerSpec.unkId, vocab, byte_fallback: false },
    added_tokens,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        {
          type: 'Precompiled',
          precompiled_charsmap: Buffer.from(model.normalizerSpec.precompiledCharsmap).toString(
            'base64',
          ),
        },
        { type: 'Strip', strip_left: false, strip_right: true },
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: SPACE_SYMBOL },
      ],
    },
    pre_tokenizer: {
      type: 'Metaspace',
      replacement: SPACE_SYMBOL,
      prepend_scheme: prependScheme,
      split: true,
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: eosToken, type_id: 0 } },
      ],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: eosToken, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: eosToken, type_id: 0 } },
      ],
      special_tokens: { [eosToken]: { id: eosToken, ids: [eosId], tokens: [eosToken] } },
    },
    decoder: {
      type: 'Metaspace',
      replacement: SPACE_SYMBOL,
      prepend_scheme: prependScheme,
      split: true,
    },
    eosToken,
    eosId,
    padId,
  };
}

/**
 * The converter's normaliser with the charsmap applied exactly; then, as in the converter,
 * trailing whitespace is stripped and runs of spaces become one `▁` (sentencepiece's
 * `remove_extra_whitespaces`).
 */
class ExactSentencePieceNormalizer extends Normalizer {
  private readonly charsmap: PrecompiledCharsmap | undefined;

  constructor(charsmap: Uint8Array) {
    super({ type: 'Sequence' } as ConstructorParameters<typeof Normalizer>[0]);
    this.charsmap = charsmap.byteLength === 0 ? undefined : PrecompiledCharsmap.parse(charsmap);
  }

  normalize(text: string): string {
    const mapped = this.charsmap?.normalize(text) ?? text;
    return mapped.replace(/ +$/, '').replace(/ {2,}/g, SPACE_SYMBOL);
  }
}

/** Python's `str.strip()`: removes the characters `str.isspace()` accepts at both ends. */
export function pythonStrip(text: string): string {
  return text.replace(PYTHON_SPACE_AT_ENDS, '');
}

const PYTHON_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PYTHON_SPACE_AT_ENDS = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, 'g');

function checkAddedTokens(
  json: T5TokenizerJson,
  addedTokens: Readonly<Record<string, number>>,
): void {
  for (const [token, id] of Object.entries(addedTokens)) {
    if (json.model.vocab[id]?.[0] !== token) {
      throw new TokenizerLoadError(
        `added_tokens.json gives "${token}" id ${id}, but the vocabulary built from spiece.model ` +
          `has "${json.model.vocab[id]?.[0] ?? '(nothing)'}" there`,
      );
    }
  }
}

function configToken(config: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = config[key];
  if (typeof value === 'string') return value;
  // Older configs store special tokens as serialised AddedToken objects.
  if (typeof value === 'object' && value !== null && 'content' in value) {
    if (typeof value.content === 'string') return value.content;
  }
  return undefined;
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new TokenizerLoadError(`${path} is not valid JSON`, { cause: error });
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
