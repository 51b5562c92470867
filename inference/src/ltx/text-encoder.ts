/**
 * LTX-Video's text encoder at run time: the T5 tokenizer and the converted T5 v1.1 encoder,
 * turning a prompt into the embeddings and mask the transformer takes (docs/model/pipeline.md §2).
 *
 *   const encoder = await T5TextEncoder.load({ textEncoderDir, tokenizerDir, cacheRoot, device });
 *   const { embeddings, attentionMask } = await encoder.encode('a red fox in the snow');
 *
 * Prompts over the token limit are refused (`PromptTooLongError`) rather than truncated.
 * Recent prompts' embeddings are kept, so a repeated prompt is not encoded again. With
 * `keepLoaded: false` the session exists only while encoding (the real encoder is 9.5 GB in
 * fp16, which a 24 GB GPU cannot keep beside the transformer and the VAE).
 */
import {
  convertT5Cached,
  T5_MAX_TOKENS,
  T5Tokenizer,
  type AttentionKernel,
  type ConversionEvent,
  type EncodedPrompt,
  type T5WeightDType,
} from '@zeus/models';
import { ModelSession, tensor, tensorFloat32, type Device } from '../onnx/runtime.ts';

export interface T5TextEncoderOptions {
  /** Hugging Face `text_encoder/` folder (config.json + safetensors weights). */
  readonly textEncoderDir: string;
  /** Hugging Face `tokenizer/` folder (spiece.model …). */
  readonly tokenizerDir: string;
  /** Folder of converted models (the conversion runs once per weights and dtype). */
  readonly cacheRoot: string;
  readonly device: Device;
  /** Weight precision of the converted encoder. Default 'float16' (numerics stay float32). */
  readonly dtype?: T5WeightDType;
  /** How attention is written (see attention-probe.ts' attentionKernelFor); default 'fused'. */
  readonly attention?: AttentionKernel;
  /** Token limit, EOS included. Default 256, the pipeline's `text_encoder_max_tokens`. */
  readonly maxTokens?: number;
  /** Keep the session between prompts (default) or load it for each encoding. */
  readonly keepLoaded?: boolean;
  /** Prompts whose embeddings are remembered. Default 4; 0 disables. */
  readonly cachedPrompts?: number;
  readonly intraOpThreads?: number;
  readonly onConversionProgress?: (event: ConversionEvent) => void;
}

/** A prompt's encoding. Shared with the recent-prompt cache: treat the arrays as read-only. */
export interface PromptEmbeddings {
  /** `last_hidden_state`, float32 `[1, maxTokens, d_model]`. */
  readonly embeddings: Float32Array;
  readonly shape: readonly [number, number, number];
  /** int64 `[1, maxTokens]`, 1 on the prompt's tokens and EOS. */
  readonly attentionMask: BigInt64Array;
  readonly inputIds: BigInt64Array;
  /** Tokens the prompt needs, EOS included. */
  readonly tokenCount: number;
}

interface SessionSource {
  readonly model: string | Uint8Array;
  readonly device: Device;
  readonly intraOpThreads?: number;
}

export class T5TextEncoder {
  private session: ModelSession | undefined;
  private readonly recent = new Map<string, PromptEmbeddings>();
  private readonly maxTokens: number;
  private readonly keepLoaded: boolean;
  private readonly cachedPrompts: number;

  private constructor(
    readonly tokenizer: T5Tokenizer,
    private readonly source: SessionSource,
    options: Pick<T5TextEncoderOptions, 'maxTokens' | 'keepLoaded' | 'cachedPrompts'>,
  ) {
    this.maxTokens = options.maxTokens ?? T5_MAX_TOKENS;
    this.keepLoaded = options.keepLoaded ?? true;
    this.cachedPrompts = options.cachedPrompts ?? 4;
  }

  /** Loads the tokenizer and the encoder, converting the weights first when needed. */
  static async load(options: T5TextEncoderOptions): Promise<T5TextEncoder> {
    const tokenizer = await T5Tokenizer.load(options.tokenizerDir);
    const converted = await convertT5Cached({
      textEncoderDir: options.textEncoderDir,
      cacheRoot: options.cacheRoot,
      dtype: options.dtype ?? 'float16',
      ...(options.attention === undefined ? {} : { attention: options.attention }),
      ...(options.onConversionProgress === undefined
        ? {}
        : { onProgress: options.onConversionProgress }),
    });
    return T5TextEncoder.fromModel(converted.modelPath, tokenizer, options);
  }

  /** An encoder for an already converted model (a path, or bytes for small models). */
  static async fromModel(
    model: string | Uint8Array,
    tokenizer: T5Tokenizer,
    options: Pick<
      T5TextEncoderOptions,
      'device' | 'maxTokens' | 'keepLoaded' | 'cachedPrompts' | 'intraOpThreads'
    >,
  ): Promise<T5TextEncoder> {
    const encoder = new T5TextEncoder(
      tokenizer,
      {
        model,
        device: options.device,
        ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
      },
      options,
    );
    if (encoder.keepLoaded) await encoder.open();
    return encoder;
  }

  /** Tokens the prompt needs, EOS included; it fits when this is at most the limit. */
  countTokens(prompt: string): number {
    return this.tokenizer.countTokens(prompt);
  }

  /** Ids and mask of a prompt; throws `PromptTooLongError` when it is over the limit. */
  tokenize(prompt: string): EncodedPrompt {
    return this.tokenizer.encode(prompt, { maxLength: this.maxTokens });
  }

  /** The prompt's embeddings, from the recent prompts when it was just encoded. */
  async encode(prompt: string): Promise<PromptEmbeddings> {
    const known = this.recent.get(prompt);
    if (known !== undefined) {
      // Re-insert: the Map's order is the eviction order.
      this.recent.delete(prompt);
      this.recent.set(prompt, known);
      return known;
    }
    const { inputIds, attentionMask, tokenCount } = this.tokenize(prompt);
    const { embeddings, shape } = await this.encodeIds(inputIds, attentionMask);
    const result: PromptEmbeddings = { embeddings, shape, attentionMask, inputIds, tokenCount };
    if (this.cachedPrompts > 0) {
      this.recent.set(prompt, result);
      for (const oldest of this.recent.keys()) {
        if (this.recent.size <= this.cachedPrompts) break;
        this.recent.delete(oldest);
      }
    }
    return result;
  }

  /** Runs the encoder on given ids and mask (int64, one sequence). */
  async encodeIds(
    inputIds: BigInt64Array,
    attentionMask: BigInt64Array,
  ): Promise<{ embeddings: Float32Array; shape: [number, number, number] }> {
    const outputs = await this.run(inputIds, attentionMask);
    const state = outputs['last_hidden_state'];
    if (state === undefined) throw new Error('The T5 model has no last_hidden_state output');
    const length = inputIds.length;
    return { embeddings: state, shape: [1, length, state.length / length] };
  }

  /** Every output of the model (`last_hidden_state`, and `hidden_states_<i>` if it has them). */
  async run(
    inputIds: BigInt64Array,
    attentionMask: BigInt64Array,
  ): Promise<Record<string, Float32Array>> {
    if (inputIds.length !== attentionMask.length) {
      throw new RangeError(`${inputIds.length} ids but ${attentionMask.length} mask values`);
    }
    const session = this.session ?? (await this.open());
    try {
      const dims = [1, inputIds.length];
      const outputs = await session.run({
        input_ids: tensor('int64', inputIds, dims),
        attention_mask: tensor('int64', attentionMask, dims),
      });
      return Object.fromEntries(
        Object.entries(outputs).map(([name, value]) => [name, tensorFloat32(value)]),
      );
    } finally {
      if (!this.keepLoaded) await this.close();
    }
  }

  /** Releases the session (a later `encode` loads it again). */
  async release(): Promise<void> {
    this.recent.clear();
    await this.close();
  }

  private async open(): Promise<ModelSession> {
    this.session = await ModelSession.load(this.source.model, {
      device: this.source.device,
      name: 'T5 text encoder',
      ...(this.source.intraOpThreads === undefined
        ? {}
        : { intraOpThreads: this.source.intraOpThreads }),
    });
    return this.session;
  }

  private async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
