/**
 * A direct, loop-by-loop transcription of docs/model/pipeline.md §5 in float64 (rotary tables and
 * timestep features from the float32 recipes), used by tests as an oracle for configurations
 * the golden set does not cover. It is itself checked against the golden reference output.
 */
import {
  ropeFullTables,
  ropeTables,
  timestepFeatures,
  type LtxTransformerConfig,
} from '@zeus/models';

export interface NaiveInputs {
  readonly hiddenStates: Float32Array; // [B, N, Cin]
  readonly encoderHiddenStates: Float32Array; // [B, L, Cc]
  readonly mask: ArrayLike<number>; // [B, L]
  readonly grid: Float32Array; // [B, 3, N], same for every batch entry
  readonly timestep: number;
  /**
   * Each token's own timestep [N] (the official per-token adaLN of image-to-video: every token's
   * timestep embedded separately); default `timestep` for all.
   */
  readonly tokenTimesteps?: ArrayLike<number>;
  readonly batch: number;
}

type Weights = (name: string) => Float32Array;

export function naiveTransformer(
  config: LtxTransformerConfig,
  weights: Weights,
  input: NaiveInputs,
): Float64Array {
  const d = config.innerDim;
  const { batch } = input;
  const tokens = input.grid.length / 3 / batch;
  const textTokens = input.mask.length / batch;
  const rope = ropeFullTables(config, ropeTables(config, input.grid.subarray(0, 3 * tokens)));
  const embeddings = new Map<number, { emb: Float64Array; modulation: Float64Array }>();
  const embedding = (t: number): { emb: Float64Array; modulation: Float64Array } => {
    let known = embeddings.get(t);
    if (known === undefined) {
      const features = Float64Array.from(timestepFeatures([t], config.timestepScaleMultiplier));
      const emb = linear(
        silu(linear(features, 1, weights, 'adaln_single.emb.timestep_embedder.linear_1')),
        1,
        weights,
        'adaln_single.emb.timestep_embedder.linear_2',
      );
      known = { emb, modulation: linear(silu(emb), 1, weights, 'adaln_single.linear') };
      embeddings.set(t, known);
    }
    return known;
  };
  const ofToken = (n: number): { emb: Float64Array; modulation: Float64Array } =>
    embedding(input.tokenTimesteps?.[n] ?? input.timestep);
  const out = new Float64Array(batch * tokens * config.outChannels);
  for (let b = 0; b < batch; b++) {
    const x = Float64Array.from(
      input.hiddenStates.subarray(
        b * tokens * config.inChannels,
        (b + 1) * tokens * config.inChannels,
      ),
    );
    let h = linear(x, tokens, weights, 'patchify_proj');
    const e = Float64Array.from(
      input.encoderHiddenStates.subarray(
        b * textTokens * config.captionChannels,
        (b + 1) * textTokens * config.captionChannels,
      ),
    );
    const context = linear(
      gelu(linear(e, textTokens, weights, 'caption_projection.linear_1')),
      textTokens,
      weights,
      'caption_projection.linear_2',
    );
    const bias = new Float64Array(textTokens);
    for (let l = 0; l < textTokens; l++)
      bias[l] = (1 - Number(input.mask[b * textTokens + l])) * -10000;
    for (let i = 0; i < config.numLayers; i++) {
      const p = `transformer_blocks.${i}`;
      const table = weights(`${p}.scale_shift_table`);
      // Row r of every token: table + that token's modulation, [N·D].
      const row = (r: number): Float64Array =>
        Float64Array.from({ length: tokens * d }, (_, k) => {
          const j = k % d;
          return (table[r * d + j] ?? 0) + (ofToken(Math.floor(k / d)).modulation[r * d + j] ?? 0);
        });
      const [shift1, scale1, gate1, shift2, scale2, gate2] = [
        row(0),
        row(1),
        row(2),
        row(3),
        row(4),
        row(5),
      ];
      const n1 = modulate(rms(h, tokens, config.normEps), shift1, scale1);
      const a1 = attention(config, weights, `${p}.attn1`, n1, tokens, n1, tokens, rope, null);
      h = h.map((value, k) => value + (gate1[k] ?? 0) * (a1[k] ?? 0));
      const a2 = attention(
        config,
        weights,
        `${p}.attn2`,
        h,
        tokens,
        context,
        textTokens,
        null,
        bias,
      );
      h = h.map((value, k) => value + (a2[k] ?? 0));
      const n2 = modulate(rms(h, tokens, config.normEps), shift2, scale2);
      const ff = linear(
        gelu(linear(n2, tokens, weights, `${p}.ff.net.0.proj`)),
        tokens,
        weights,
        `${p}.ff.net.2`,
      );
      h = h.map((value, k) => value + (gate2[k] ?? 0) * (ff[k] ?? 0));
    }
    const table = weights('scale_shift_table');
    const shift = Float64Array.from(
      { length: tokens * d },
      (_, k) => (table[k % d] ?? 0) + (ofToken(Math.floor(k / d)).emb[k % d] ?? 0),
    );
    const scale = Float64Array.from(
      { length: tokens * d },
      (_, k) => (table[d + (k % d)] ?? 0) + (ofToken(Math.floor(k / d)).emb[k % d] ?? 0),
    );
    const final = linear(
      modulate(layerNorm(h, tokens, config.normEps), shift, scale),
      tokens,
      weights,
      'proj_out',
    );
    out.set(final, b * tokens * config.outChannels);
  }
  return out;
}

function attention(
  config: LtxTransformerConfig,
  weights: Weights,
  prefix: string,
  queryIn: Float64Array,
  queries: number,
  contextIn: Float64Array,
  keys: number,
  rope: { cos: Float32Array; sin: Float32Array } | null,
  bias: Float64Array | null,
): Float64Array {
  const d = config.innerDim;
  let q = rms(
    linear(queryIn, queries, weights, `${prefix}.to_q`),
    queries,
    1e-5,
    weights(`${prefix}.q_norm.weight`),
  );
  let k = rms(
    linear(contextIn, keys, weights, `${prefix}.to_k`),
    keys,
    1e-5,
    weights(`${prefix}.k_norm.weight`),
  );
  const v = linear(contextIn, keys, weights, `${prefix}.to_v`);
  if (rope !== null) {
    q = rotate(q, rope);
    k = rotate(k, rope);
  }
  const heads = config.numAttentionHeads;
  const hd = config.attentionHeadDim;
  const out = new Float64Array(queries * d);
  const scores = new Float64Array(keys);
  for (let head = 0; head < heads; head++) {
    for (let s = 0; s < queries; s++) {
      let max = -Infinity;
      for (let l = 0; l < keys; l++) {
        let dot = 0;
        for (let j = 0; j < hd; j++)
          dot += (q[s * d + head * hd + j] ?? 0) * (k[l * d + head * hd + j] ?? 0);
        scores[l] = dot / Math.sqrt(hd) + (bias?.[l] ?? 0);
        max = Math.max(max, scores[l] ?? 0);
      }
      let sum = 0;
      for (let l = 0; l < keys; l++) {
        scores[l] = Math.exp((scores[l] ?? 0) - max);
        sum += scores[l] ?? 0;
      }
      for (let j = 0; j < hd; j++) {
        let acc = 0;
        for (let l = 0; l < keys; l++) acc += (scores[l] ?? 0) * (v[l * d + head * hd + j] ?? 0);
        out[s * d + head * hd + j] = acc / sum;
      }
    }
  }
  return linear(out, queries, weights, `${prefix}.to_out.0`);
}

function linear(x: Float64Array, rows: number, weights: Weights, name: string): Float64Array {
  const w = weights(`${name}.weight`);
  const b = weights(`${name}.bias`);
  const outs = b.length;
  const inputs = w.length / outs;
  const y = new Float64Array(rows * outs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outs; o++) {
      let acc = b[o] ?? 0;
      for (let i = 0; i < inputs; i++) acc += (x[r * inputs + i] ?? 0) * (w[o * inputs + i] ?? 0);
      y[r * outs + o] = acc;
    }
  }
  return y;
}

function rms(x: Float64Array, rows: number, eps: number, weight?: Float32Array): Float64Array {
  const width = x.length / rows;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let j = 0; j < width; j++) squares += (x[r * width + j] ?? 0) ** 2;
    const scale = 1 / Math.sqrt(squares / width + eps);
    for (let j = 0; j < width; j++)
      y[r * width + j] = (x[r * width + j] ?? 0) * scale * (weight?.[j] ?? 1);
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, eps: number): Float64Array {
  const width = x.length / rows;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < width; j++) mean += (x[r * width + j] ?? 0) / width;
    let variance = 0;
    for (let j = 0; j < width; j++) variance += ((x[r * width + j] ?? 0) - mean) ** 2 / width;
    for (let j = 0; j < width; j++)
      y[r * width + j] = ((x[r * width + j] ?? 0) - mean) / Math.sqrt(variance + eps);
  }
  return y;
}

/** x·(1 + scale) + shift with one shift and scale per token ([N·D], like x). */
function modulate(x: Float64Array, shift: Float64Array, scale: Float64Array): Float64Array {
  const width = shift.length;
  return x.map((value, k) => value * (1 + (scale[k % width] ?? 0)) + (shift[k % width] ?? 0));
}

function rotate(x: Float64Array, rope: { cos: Float32Array; sin: Float32Array }): Float64Array {
  const y = new Float64Array(x.length);
  for (let k = 0; k < x.length; k += 2) {
    const a = x[k] ?? 0;
    const b = x[k + 1] ?? 0;
    y[k] = a * (rope.cos[k] ?? 0) - b * (rope.sin[k] ?? 0);
    y[k + 1] = b * (rope.cos[k + 1] ?? 0) + a * (rope.sin[k + 1] ?? 0);
  }
  return y;
}

function gelu(x: Float64Array): Float64Array {
  return x.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
}

function silu(x: Float64Array): Float64Array {
  return x.map((v) => v / (1 + Math.exp(-v)));
}
