/**
 * Runs the converted LTX transformer: one `step` is one denoising step's forward pass, a single
 * session run. Inputs constant over a video (text embeddings, mask, rotary tables) are prepared
 * once by `condition`.
 *
 *   const transformer = await LtxTransformer.fromCheckpoint({
 *     checkpointPath, cacheRoot: join(modelDir, 'onnx'), dtype: 'float16', device: 'auto',
 *   });
 *   const conditioning = transformer.condition({
 *     textEmbeddings, textMask, textTokens: 256,
 *     grid: fractionalCoordinates(shape, frameRate),   // [1, 3, N]
 *   });
 *   const tokens = await denoise({ model: transformer, conditioning, shape, timesteps, noise });
 *   await transformer.release();
 */
import {
  convertLtxTransformer,
  ropeTables,
  timestepFeatures,
  TIMESTEP_FEATURES,
  TRANSFORMER_IO,
  type AttentionKernel,
  type ConversionEvent,
  type LtxTransformerConfig,
  type TransformerDType,
} from '@zeus/models';
import {
  ModelSession,
  tensor,
  tensorFloat32,
  type Device,
  type ExecutionProvider,
  type OrtTensor,
} from '../onnx/runtime.ts';

export class TransformerInputError extends Error {
  override readonly name = 'TransformerInputError';
}

export interface TransformerConditioningInput {
  /** T5 output [B, L, C_text], float32. */
  readonly textEmbeddings: Float32Array;
  /** [B, L]: 1 for real tokens, 0 for padding. */
  readonly textMask: BigInt64Array | ArrayLike<number>;
  /** L (256 in the pipeline). */
  readonly textTokens: number;
  /**
   * The `indices_grid` [B, 3, N] of fractionalCoordinates(): every batch entry must have the
   * same grid (the pipeline's batch is 1).
   */
  readonly grid: Float32Array;
  /**
   * Leave out text tokens that every batch entry masks (default true). Their −10000 bias makes
   * their attention weight exactly 0 in float32 and float16, so the result is the same up to
   * summation order, while the caption projection and cross-attention shrink from 256 tokens
   * to the prompt's length.
   */
  readonly dropMaskedText?: boolean;
  /**
   * Tokens (of one batch entry, [N]) that are conditioned (image-to-video: the first latent
   * frame's), which take `conditionedTimestep` in `velocity`; default none.
   */
  readonly conditionedTokens?: Uint8Array;
}

/** Inputs that stay the same through a video's steps. */
export interface TransformerConditioning {
  readonly batch: number;
  readonly tokens: number;
  readonly feeds: Readonly<Record<string, OrtTensor>>;
  /** Whether any token is conditioned. */
  readonly hasConditionedTokens: boolean;
}

export interface TransformerLoadOptions {
  readonly device: Device;
  readonly intraOpThreads?: number;
}

export class LtxTransformer {
  private constructor(
    readonly config: LtxTransformerConfig,
    private readonly session: ModelSession,
  ) {}

  static async load(
    model: string | Uint8Array,
    config: LtxTransformerConfig,
    options: TransformerLoadOptions,
  ): Promise<LtxTransformer> {
    const session = await ModelSession.load(model, {
      device: options.device,
      name: 'transformer',
      ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    });
    return new LtxTransformer(config, session);
  }

  /**
   * Converts the checkpoint's transformer into the conversion cache unless it is there already,
   * then loads it.
   */
  static async fromCheckpoint(options: {
    readonly checkpointPath: string;
    /** The conversion cache folder, e.g. `<model dir>/onnx`. */
    readonly cacheRoot: string;
    readonly dtype: TransformerDType;
    readonly device: Device;
    /** How attention is written (see attention-probe.ts' attentionKernelFor); default 'fused'. */
    readonly attention?: AttentionKernel;
    readonly intraOpThreads?: number;
    readonly onProgress?: (event: ConversionEvent) => void;
  }): Promise<LtxTransformer> {
    const converted = await convertLtxTransformer({
      checkpointPath: options.checkpointPath,
      cacheRoot: options.cacheRoot,
      dtype: options.dtype,
      ...(options.attention === undefined ? {} : { attention: options.attention }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return LtxTransformer.load(converted.modelPath, converted.config, {
      device: options.device,
      ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    });
  }

  get provider(): ExecutionProvider {
    return this.session.provider;
  }

  condition(input: TransformerConditioningInput): TransformerConditioning {
    const { captionChannels } = this.config;
    const perEntry = input.textTokens * captionChannels;
    if (input.textEmbeddings.length === 0 || input.textEmbeddings.length % perEntry !== 0) {
      throw new TransformerInputError(
        `Text embeddings have ${input.textEmbeddings.length} values, not a multiple of ` +
          `${input.textTokens} tokens × ${captionChannels} channels`,
      );
    }
    const batch = input.textEmbeddings.length / perEntry;
    if (input.textMask.length !== batch * input.textTokens) {
      throw new TransformerInputError(
        `The text mask has ${input.textMask.length} values, expected ${batch * input.textTokens}`,
      );
    }
    if (input.grid.length === 0 || input.grid.length % (3 * batch) !== 0) {
      throw new TransformerInputError(
        `The coordinate grid has ${input.grid.length} values, not 3·N per batch entry`,
      );
    }
    const tokens = input.grid.length / (3 * batch);
    const grid = input.grid.subarray(0, 3 * tokens);
    for (let b = 1; b < batch; b++) {
      const other = input.grid.subarray(b * 3 * tokens, (b + 1) * 3 * tokens);
      if (other.some((value, i) => value !== grid[i])) {
        throw new TransformerInputError('Every batch entry must share one coordinate grid');
      }
    }
    const text = selectText(input, batch, captionChannels);
    const rope = ropeTables(this.config, grid);
    const conditioned = input.conditionedTokens ?? new Uint8Array(tokens);
    if (conditioned.length !== tokens) {
      throw new TransformerInputError(
        `The conditioned-token mask has ${conditioned.length} values, expected ${tokens}`,
      );
    }
    const mask = new Uint8Array(batch * tokens);
    for (let b = 0; b < batch; b++) mask.set(conditioned, b * tokens);
    return {
      batch,
      tokens,
      hasConditionedTokens: conditioned.some((value) => value !== 0),
      feeds: {
        [TRANSFORMER_IO.conditioningMask]: tensor('bool', mask, [batch, tokens]),
        [TRANSFORMER_IO.encoderHiddenStates]: tensor('float32', text.embeddings, [
          batch,
          text.tokens,
          captionChannels,
        ]),
        [TRANSFORMER_IO.encoderAttentionMask]: tensor('int64', text.mask, [batch, text.tokens]),
        [TRANSFORMER_IO.ropeTable]: tensor('float32', rope.table, [rope.rows, 2, rope.frequencies]),
        [TRANSFORMER_IO.ropeIndex]: tensor('int64', rope.index, [tokens, 3]),
      },
    };
  }

  /**
   * The velocity [B, N, C_out] for latent tokens [B, N, C_in] at timestep t ∈ [0, 1];
   * conditioned tokens (see `condition`) at `conditionedTimestep` (default t).
   */
  async velocity(
    conditioning: TransformerConditioning,
    latents: Float32Array,
    timestep: number,
    conditionedTimestep?: number,
  ): Promise<Float32Array> {
    const outputs = await this.run(conditioning, latents, timestep, conditionedTimestep);
    const velocity = outputs[TRANSFORMER_IO.velocity];
    if (velocity === undefined) throw new TransformerInputError('The model has no velocity output');
    return velocity;
  }

  /** Every output of the model (velocity, and `debug.*` for a debug build), as float32. */
  async run(
    conditioning: TransformerConditioning,
    latents: Float32Array,
    timestep: number,
    conditionedTimestep: number = timestep,
  ): Promise<Record<string, Float32Array>> {
    const { batch, tokens } = conditioning;
    const expected = batch * tokens * this.config.inChannels;
    if (latents.length !== expected) {
      throw new TransformerInputError(
        `Latents have ${latents.length} values, expected ${expected} ([${batch}, ${tokens}, ` +
          `${this.config.inChannels}])`,
      );
    }
    const features = timestepFeatures(
      new Array<number>(batch).fill(timestep),
      this.config.timestepScaleMultiplier,
    );
    const conditionedFeatures = conditioning.hasConditionedTokens
      ? timestepFeatures(
          new Array<number>(batch).fill(conditionedTimestep),
          this.config.timestepScaleMultiplier,
        )
      : features;
    const outputs = await this.session.run({
      ...conditioning.feeds,
      [TRANSFORMER_IO.hiddenStates]: tensor('float32', latents, [
        batch,
        tokens,
        this.config.inChannels,
      ]),
      [TRANSFORMER_IO.timestepFeatures]: tensor('float32', features, [batch, TIMESTEP_FEATURES]),
      [TRANSFORMER_IO.conditioningTimestepFeatures]: tensor('float32', conditionedFeatures, [
        batch,
        TIMESTEP_FEATURES,
      ]),
    });
    const result: Record<string, Float32Array> = {};
    for (const [name, value] of Object.entries(outputs)) result[name] = tensorFloat32(value);
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The text tokens to feed: all, or those some batch entry attends to (see dropMaskedText). */
function selectText(
  input: TransformerConditioningInput,
  batch: number,
  channels: number,
): { embeddings: Float32Array; mask: BigInt64Array; tokens: number } {
  const length = input.textTokens;
  const mask =
    input.textMask instanceof BigInt64Array
      ? input.textMask
      : BigInt64Array.from(Array.from(input.textMask, (value) => BigInt(value)));
  const kept: number[] = [];
  for (let l = 0; l < length; l++) {
    let used = input.dropMaskedText === false;
    for (let b = 0; b < batch && !used; b++) used = mask[b * length + l] !== 0n;
    if (used) kept.push(l);
  }
  // A fully masked prompt attends uniformly to all its tokens in the reference: keep them.
  if (kept.length === length || kept.length === 0) {
    return { embeddings: input.textEmbeddings, mask, tokens: length };
  }
  const embeddings = new Float32Array(batch * kept.length * channels);
  const keptMask = new BigInt64Array(batch * kept.length);
  for (let b = 0; b < batch; b++) {
    for (const [k, l] of kept.entries()) {
      const from = (b * length + l) * channels;
      embeddings.set(
        input.textEmbeddings.subarray(from, from + channels),
        (b * kept.length + k) * channels,
      );
      keptMask[b * kept.length + k] = mask[b * length + l] ?? 0n;
    }
  }
  return { embeddings, mask: keptMask, tokens: kept.length };
}
