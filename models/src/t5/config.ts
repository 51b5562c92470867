/**
 * The part of a Hugging Face T5 `config.json` that the encoder graph needs, validated: only the
 * T5 v1.1 encoder (gated GELU-tanh feed-forward, relative position buckets) is supported.
 */

export interface T5EncoderConfig {
  readonly vocabSize: number;
  readonly dModel: number;
  /** Size of one attention head. */
  readonly dKv: number;
  readonly numHeads: number;
  readonly dFf: number;
  readonly numLayers: number;
  readonly relativeAttentionNumBuckets: number;
  readonly relativeAttentionMaxDistance: number;
  readonly layerNormEpsilon: number;
}

export class T5ConfigError extends Error {
  override readonly name = 'T5ConfigError';
}

/** Parses `config.json` text; `source` names the file in messages. */
export function parseT5Config(text: string, source = 'config.json'): T5EncoderConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new T5ConfigError(`${source} is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new T5ConfigError(`${source} is not a JSON object`);
  }
  const json = raw as Record<string, unknown>;
  const count = (key: string, fallback?: number): number => {
    const value = json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new T5ConfigError(
        `${source}: ${key} must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  const modelType = json['model_type'];
  if (modelType !== undefined && modelType !== 't5') {
    throw new T5ConfigError(`${source}: model_type is ${JSON.stringify(modelType)}, not "t5"`);
  }
  const feedForward = json['feed_forward_proj'] ?? 'relu';
  if (feedForward !== 'gated-gelu') {
    // T5 v1.0 (relu) and other activations would need another feed-forward graph.
    throw new T5ConfigError(
      `${source}: feed_forward_proj is ${JSON.stringify(feedForward)}; only T5 v1.1 ("gated-gelu") is supported`,
    );
  }
  const activation = json['dense_act_fn'] ?? 'gelu_new';
  if (activation !== 'gelu_new' && activation !== 'gelu_pytorch_tanh') {
    throw new T5ConfigError(
      `${source}: dense_act_fn is ${JSON.stringify(activation)}; only the tanh GELU is supported`,
    );
  }
  const epsilon = json['layer_norm_epsilon'] ?? 1e-6;
  if (typeof epsilon !== 'number' || !(epsilon > 0)) {
    throw new T5ConfigError(`${source}: layer_norm_epsilon must be a positive number`);
  }
  const config: T5EncoderConfig = {
    vocabSize: count('vocab_size'),
    dModel: count('d_model'),
    dKv: count('d_kv'),
    numHeads: count('num_heads'),
    dFf: count('d_ff'),
    numLayers: count('num_layers'),
    relativeAttentionNumBuckets: count('relative_attention_num_buckets', 32),
    relativeAttentionMaxDistance: count('relative_attention_max_distance', 128),
    layerNormEpsilon: epsilon,
  };
  return config;
}
