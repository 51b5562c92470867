/**
 * The configs a single-file LTX-Video checkpoint embeds (`__metadata__.config`, checkpoint.ts):
 * parsed and checked against what Zeus implements, every problem reported in one CheckpointError.
 */

/** The transformer's constructor config, the parts that shape the computation. */
export interface LtxTransformerConfig {
  readonly numLayers: number;
  readonly numAttentionHeads: number;
  readonly attentionHeadDim: number;
  /** D = heads × head dim: the width of the residual stream. */
  readonly innerDim: number;
  /** Latent channels in (patch size 1). */
  readonly inChannels: number;
  /** Velocity channels out. */
  readonly outChannels: number;
  /** Width of the text encoder's output (4096 for T5-XXL). */
  readonly captionChannels: number;
  /** Width of the cross-attention context; equals innerDim. */
  readonly crossAttentionDim: number;
  /** Epsilon of the block RMSNorms and the final LayerNorm (1e-6). */
  readonly normEps: number;
  readonly positionalEmbeddingTheta: number;
  /** Normalisers of the (time, y, x) coordinates: [20, 2048, 2048]. */
  readonly positionalEmbeddingMaxPos: readonly [number, number, number];
  /** The timestep in [0, 1] is multiplied by this before its sinusoidal embedding (1000). */
  readonly timestepScaleMultiplier: number;
  readonly causalTemporalPositioning: boolean;
}

/** The scheduler's config, as the sampler needs it. */
export interface LtxSchedulerConfig {
  readonly sampler: string;
  readonly shifting: string | null;
  readonly numTrainTimesteps: number;
}

/**
 * The VAE's config, checked only for being an object: models/src/ltx/vae-config.ts parses it.
 * Keys are the checkpoint's own (snake_case).
 */
export type LtxVaeRawConfig = Readonly<Record<string, unknown>>;

export interface LtxCheckpointConfig {
  readonly transformer: LtxTransformerConfig;
  readonly vae: LtxVaeRawConfig;
  readonly scheduler: LtxSchedulerConfig;
  /** Timesteps the checkpoint was distilled for; absent for non-distilled checkpoints. */
  readonly allowedInferenceSteps: readonly number[] | undefined;
}

export type CheckpointErrorReason =
  /** No `__metadata__.config`, or it is not a JSON object. */
  | 'bad-metadata'
  /** A config value is missing, has the wrong type, or contradicts another. */
  | 'invalid-config'
  /** A valid config for a model variant Zeus does not implement. */
  | 'unsupported-config'
  /** Tensors missing, of the wrong shape or dtype, or unexpected. */
  | 'bad-tensors';

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';

  constructor(
    readonly reason: CheckpointErrorReason,
    readonly path: string,
    /** Every problem found, each a full sentence naming the key or tensor. */
    readonly problems: readonly string[],
  ) {
    super(
      `${path} is not a usable LTX-Video checkpoint: ${problems.slice(0, 8).join(' ')}` +
        (problems.length > 8 ? ` (and ${problems.length - 8} more problems)` : ''),
    );
  }
}

/** Parses and validates the embedded config JSON (the `config` metadata string). */
export function parseLtxCheckpointConfig(
  configJson: string | undefined,
  path: string,
): LtxCheckpointConfig {
  if (configJson === undefined) {
    throw new CheckpointError('bad-metadata', path, [
      'Its safetensors header has no __metadata__.config entry.',
    ]);
  }
  let root: unknown;
  try {
    root = JSON.parse(configJson);
  } catch {
    throw new CheckpointError('bad-metadata', path, ['__metadata__.config is not valid JSON.']);
  }
  if (!isObject(root)) {
    throw new CheckpointError('bad-metadata', path, ['__metadata__.config is not a JSON object.']);
  }
  const problems: string[] = [];
  const unsupported: string[] = [];
  const read = new ConfigReader(problems);

  const transformerRaw = read.object(root, 'transformer', 'config');
  const vae = read.object(root, 'vae', 'config');
  const schedulerRaw = read.object(root, 'scheduler', 'config');
  const allowedRaw = root['allowed_inference_steps'];
  let allowedInferenceSteps: number[] | undefined;
  if (allowedRaw !== undefined && allowedRaw !== null) {
    if (
      Array.isArray(allowedRaw) &&
      allowedRaw.length > 0 &&
      allowedRaw.every((value) => typeof value === 'number' && value > 0 && value <= 1)
    ) {
      allowedInferenceSteps = allowedRaw as number[];
    } else {
      problems.push('config.allowed_inference_steps must be a list of numbers in (0, 1].');
    }
  }

  let transformer: LtxTransformerConfig | undefined;
  if (transformerRaw !== undefined) {
    const t = transformerRaw;
    const where = 'config.transformer';
    const heads = read.positiveInt(t, 'num_attention_heads', where);
    const headDim = read.positiveInt(t, 'attention_head_dim', where);
    const maxPos = t['positional_embedding_max_pos'];
    const maxPosOk =
      Array.isArray(maxPos) &&
      maxPos.length === 3 &&
      maxPos.every((value) => typeof value === 'number' && value > 0);
    if (!maxPosOk)
      problems.push(`${where}.positional_embedding_max_pos must be 3 positive numbers.`);
    transformer = {
      numLayers: read.positiveInt(t, 'num_layers', where),
      numAttentionHeads: heads,
      attentionHeadDim: headDim,
      innerDim: heads * headDim,
      inChannels: read.positiveInt(t, 'in_channels', where),
      outChannels: read.positiveInt(t, 'out_channels', where),
      captionChannels: read.positiveInt(t, 'caption_channels', where),
      crossAttentionDim: read.positiveInt(t, 'cross_attention_dim', where),
      normEps: read.positiveNumber(t, 'norm_eps', where),
      positionalEmbeddingTheta: read.positiveNumber(t, 'positional_embedding_theta', where),
      positionalEmbeddingMaxPos: (maxPosOk ? maxPos : [1, 1, 1]) as [number, number, number],
      timestepScaleMultiplier: read.positiveNumber(t, 'timestep_scale_multiplier', where),
      causalTemporalPositioning: read.boolean(t, 'causal_temporal_positioning', where, false),
    };
    // Options with one implemented value: the 0.9.x transformer's.
    const expect = (key: string, wanted: unknown, fallback: unknown): void => {
      const value = key in t ? t[key] : fallback;
      if (value !== wanted) {
        unsupported.push(
          `${where}.${key} is ${JSON.stringify(value)}; only ${JSON.stringify(wanted)} is supported.`,
        );
      }
    };
    expect('activation_fn', 'gelu-approximate', 'geglu');
    expect('qk_norm', 'rms_norm', null);
    expect('standardization_norm', 'rms_norm', 'layer_norm');
    expect('positional_embedding_type', 'rope', 'rope');
    expect('attention_bias', true, false);
    expect('norm_elementwise_affine', false, true);
    expect('adaptive_norm', 'single_scale_shift', 'single_scale_shift');
    expect('double_self_attention', false, false);
    expect('only_cross_attention', false, false);
    expect('attention_type', 'default', 'default');
    expect('use_linear_projection', false, false);
    expect('upcast_attention', false, false);
    if (transformer.crossAttentionDim !== transformer.innerDim) {
      problems.push(
        `${where}.cross_attention_dim (${transformer.crossAttentionDim}) must equal ` +
          `num_attention_heads × attention_head_dim (${transformer.innerDim}).`,
      );
    }
    if (transformer.innerDim % 2 !== 0) {
      unsupported.push(
        `${where}: an odd width (${transformer.innerDim}) cannot be rotated in pairs.`,
      );
    }
  }

  let scheduler: LtxSchedulerConfig | undefined;
  if (schedulerRaw !== undefined) {
    const where = 'config.scheduler';
    const shifting = schedulerRaw['shifting'] ?? null;
    if (shifting !== null && typeof shifting !== 'string') {
      problems.push(`${where}.shifting must be a string or null.`);
    }
    scheduler = {
      sampler: read.string(schedulerRaw, 'sampler', where, 'Uniform'),
      shifting: typeof shifting === 'string' ? shifting : null,
      numTrainTimesteps: read.positiveInt(schedulerRaw, 'num_train_timesteps', where, 1000),
    };
  }

  if (problems.length > 0) throw new CheckpointError('invalid-config', path, problems);
  if (unsupported.length > 0) throw new CheckpointError('unsupported-config', path, unsupported);
  // Reaching here means no problem was recorded, so every part was read.
  return {
    transformer: transformer as LtxTransformerConfig,
    vae: vae as LtxVaeRawConfig,
    scheduler: scheduler as LtxSchedulerConfig,
    allowedInferenceSteps,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads typed values from a JSON object, recording a problem (and a placeholder) when wrong. */
class ConfigReader {
  constructor(private readonly problems: string[]) {}

  object(
    parent: Record<string, unknown>,
    key: string,
    where: string,
  ): Record<string, unknown> | undefined {
    const value = parent[key];
    if (isObject(value)) return value;
    this.problems.push(`${where}.${key} is ${value === undefined ? 'missing' : 'not an object'}.`);
    return undefined;
  }

  positiveInt(
    parent: Record<string, unknown>,
    key: string,
    where: string,
    fallback?: number,
  ): number {
    const value = parent[key] ?? fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
    this.problems.push(`${where}.${key} must be a positive integer, got ${JSON.stringify(value)}.`);
    return 1;
  }

  positiveNumber(parent: Record<string, unknown>, key: string, where: string): number {
    const value = parent[key];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    this.problems.push(`${where}.${key} must be a positive number, got ${JSON.stringify(value)}.`);
    return 1;
  }

  boolean(parent: Record<string, unknown>, key: string, where: string, fallback: boolean): boolean {
    const value = parent[key] ?? fallback;
    if (typeof value === 'boolean') return value;
    this.problems.push(`${where}.${key} must be true or false, got ${JSON.stringify(value)}.`);
    return fallback;
  }

  string(parent: Record<string, unknown>, key: string, where: string, fallback: string): string {
    const value = parent[key] ?? fallback;
    if (typeof value === 'string') return value;
    this.problems.push(`${where}.${key} must be a string, got ${JSON.stringify(value)}.`);
    return fallback;
  }
}
