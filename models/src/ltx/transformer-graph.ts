/**
 * The LTX-Video transformer (`Transformer3DModel`, docs/model/pipeline.md §5) as an ONNX graph,
 * built from the checkpoint's config and weights. One session run is one denoising step's
 * forward pass: every layer is inside, and only small tensors cross the host boundary.
 *
 * Inputs (B batch, N video tokens, L text tokens):
 *   hidden_states          float32 [B, N, C_in]   latent tokens (see inference/src/sampler)
 *   encoder_hidden_states  float32 [B, L, C_text] T5 output
 *   encoder_attention_mask int64   [B, L]         1 for tokens, 0 for padding
 *   timestep_features      float32 [B, 256]       timestepFeatures(t, multiplier)
 *   conditioning_timestep_features float32 [B, 256] the features of conditioned tokens' timestep
 *   conditioning_mask      bool    [B, N]         true for conditioned tokens (image-to-video)
 *   rope_table             float32 [R, 2, n_f]    ropeTables(config, grid).table
 *   rope_index             int64   [N, 3]         ropeTables(config, grid).index
 * Output:
 *   velocity               float32 [B, N, C_out]
 * plus `debug.*` intermediates when built with `debug: true`.
 *
 * Per-token timesteps. The official pipeline gives conditioned tokens (a first-frame image) their
 * own timestep, `min(t, 1 − strength)`, embedding every token's timestep separately. A video has
 * only two distinct values, so the graph computes the timestep embedding and modulation for both
 * and picks one per token with `Where` on `conditioning_mask`. Where selects values without
 * arithmetic, so with an all-false mask every token gets exactly the numbers the text-to-video
 * graph computed before, bit for bit.
 *
 * Operators are ONNX Runtime's fused ones where they exist (MultiHeadAttention,
 * RotaryEmbedding, SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization, FastGelu,
 * LayerNormalization), which its CPU, CUDA and WebGPU providers implement.
 *
 * Precision. With `dtype: 'float32'` everything is float32. With 'float16' the large matrix
 * products and attention run in float16 (weights stored as float16), while the numerically
 * sensitive parts stay float32: the residual stream and its gated additions, the block
 * RMSNorms and the final LayerNorm with their modulation, the q/k RMSNorms and the rotary
 * embedding (cast to float16 only for the attention kernel, which accumulates in float32), and
 * the whole timestep embedding (adaLN-single: its weights stay float32). Inputs and outputs are
 * float32 either way.
 */
import { attention, type AttentionKernel } from '../onnx/attention.ts';
import { attr, GraphBuilder } from '../onnx/graph-builder.ts';
import { f32ToF16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import {
  TIMESTEP_FEATURES,
  transformerTensorShapes,
  type LtxTransformerConfig,
} from './checkpoint.ts';

export type TransformerDType = 'float32' | 'float16';

/** Graph input and output names. */
export const TRANSFORMER_IO = {
  hiddenStates: 'hidden_states',
  encoderHiddenStates: 'encoder_hidden_states',
  encoderAttentionMask: 'encoder_attention_mask',
  timestepFeatures: 'timestep_features',
  conditioningTimestepFeatures: 'conditioning_timestep_features',
  conditioningMask: 'conditioning_mask',
  ropeTable: 'rope_table',
  ropeIndex: 'rope_index',
  velocity: 'velocity',
} as const;

/** The cross-attention bias of padding text tokens: finite, as in the reference. */
const MASKED_BIAS = -10000;
/** Epsilon of the q/k RMSNorms (diffusers' RMSNorm in the reference's attention). */
const QK_NORM_EPS = 1e-5;

/**
 * The transformer's weights by state-dict name (without `model.diffusion_model.`), as float32
 * [out, in] like the checkpoint. Called once per tensor while the model is written.
 */
export type TransformerWeights = (name: string) => Promise<Float32Array>;

export interface TransformerGraphOptions {
  readonly dtype: TransformerDType;
  /** Adds `debug.*` outputs (intermediates the reference records). For parity checks. */
  readonly debug?: boolean;
  /** Blocks whose output gets a `debug.block_<i>_out` (default: all, when debug). */
  readonly debugBlocks?: readonly number[];
  /** How attention is written (onnx/attention.ts); default 'fused'. */
  readonly attention?: AttentionKernel;
}

/** Builds the graph; weights are read only when it is saved. */
export function buildTransformerGraph(
  config: LtxTransformerConfig,
  weights: TransformerWeights,
  options: TransformerGraphOptions,
): GraphBuilder {
  return new TransformerGraphWriter(config, weights, options).build();
}

class TransformerGraphWriter {
  private readonly g = new GraphBuilder({ name: 'ltx_transformer' });
  private readonly shapes: Map<string, number[]>;
  private readonly d: number;
  private readonly half: boolean;
  private readonly compute: TransformerDType;
  /** conditioning_mask as [B, N, 1], set in build(). */
  private tokenMask = '';
  /** Float32 weights declared once and shared by both timestep chains. */
  private readonly float32Weights = new Map<string, string>();

  constructor(
    private readonly config: LtxTransformerConfig,
    private readonly weights: TransformerWeights,
    private readonly options: TransformerGraphOptions,
  ) {
    this.shapes = transformerTensorShapes(config);
    this.d = config.innerDim;
    this.compute = options.dtype;
    this.half = options.dtype === 'float16';
  }

  build(): GraphBuilder {
    const { g, config, d } = this;
    const frequencies = Math.floor(d / 6);
    if (frequencies === 0) throw new Error(`Transformer width ${d} is too small for RoPE`);
    const io = TRANSFORMER_IO;
    const hidden = g.input(io.hiddenStates, 'float32', ['batch', 'tokens', config.inChannels]);
    const text = g.input(io.encoderHiddenStates, 'float32', [
      'batch',
      'text_tokens',
      config.captionChannels,
    ]);
    const mask = g.input(io.encoderAttentionMask, 'int64', ['batch', 'text_tokens']);
    const features = g.input(io.timestepFeatures, 'float32', ['batch', TIMESTEP_FEATURES]);
    const conditioningFeatures = g.input(io.conditioningTimestepFeatures, 'float32', [
      'batch',
      TIMESTEP_FEATURES,
    ]);
    const conditioningMask = g.input(io.conditioningMask, 'bool', ['batch', 'tokens']);
    const ropeTable = g.input(io.ropeTable, 'float32', ['rope_rows', 2, frequencies]);
    const ropeIndex = g.input(io.ropeIndex, 'int64', ['tokens', 3]);
    g.setMetadata('zeus.ltx.transformer', JSON.stringify({ dtype: this.options.dtype, config }));

    // Timestep embedding (adaLN-single), float32 whatever the dtype; once for the video's
    // timestep and once for the conditioned tokens' (a separate chain, so the first is computed
    // exactly as a graph without conditioning computes it).
    const adaln = (input: string): { modulation: string; embedded: string } => {
      const hiddenT = this.linear32(input, 'adaln_single.emb.timestep_embedder.linear_1');
      const emb = this.linear32(this.silu(hiddenT), 'adaln_single.emb.timestep_embedder.linear_2');
      return { embedded: emb, modulation: this.linear32(this.silu(emb), 'adaln_single.linear') };
    };
    const { modulation, embedded } = g.scope('adaln_single', () => adaln(features));
    const conditioned = g.scope('adaln_single_conditioning', () => adaln(conditioningFeatures));
    this.debug('adaln_single_out', modulation);
    this.debug('adaln_embedded_timestep', embedded);
    // [B, 6D] → [B, 1, 6, D]: row r of every block's table adds chunk r.
    const modulationRows = g.op('Reshape', [modulation, g.ints([-1, 1, 6, d])]);
    const conditionedRows = g.op('Reshape', [conditioned.modulation, g.ints([-1, 1, 6, d])]);
    this.tokenMask = g.op('Unsqueeze', [conditioningMask, g.ints([2])]); // [B, N, 1]

    let h = this.toFloat32(this.linear(this.toCompute(hidden), 'patchify_proj'));
    this.debug('patchify_proj_out', h);

    const context = g.scope('caption_projection', () => {
      const projected = this.linear(this.toCompute(text), 'caption_projection.linear_1', false);
      const activated = g.op(
        'FastGelu',
        [projected, this.bias('caption_projection.linear_1')],
        {},
        { domain: 'com.microsoft' },
      );
      return this.linear(activated, 'caption_projection.linear_2');
    });
    this.debug('caption_projection_out', context);

    // Additive cross-attention bias [B, 1, N, L] (the attention kernel wants it per query).
    const crossBias = g.scope('cross_attention_bias', () => {
      const maskF = g.op('Cast', [mask], { to: attr.i(ONNX_FLOAT) });
      const bias = g.op('Mul', [g.op('Sub', [g.scalar(1), maskF]), g.scalar(MASKED_BIAS)]);
      const rows = g.op('Unsqueeze', [bias, g.ints([1, 2])]);
      const batch = g.op('Shape', [mask], { start: attr.i(0), end: attr.i(1) });
      const textTokens = g.op('Shape', [mask], { start: attr.i(1), end: attr.i(2) });
      const tokens = g.op('Shape', [hidden], { start: attr.i(1), end: attr.i(2) });
      const shape = g.op('Concat', [batch, g.ints([1]), tokens, textTokens], { axis: attr.i(0) });
      return this.toCompute(g.op('Expand', [rows, shape]));
    });

    const rope = g.scope('rope', () => this.ropeCaches(ropeTable, ropeIndex, frequencies));

    // Blocks. The residual stream stays float32; each block's first RMSNorm is fused with the
    // previous block's last residual addition.
    let normed = this.rmsNorm(h);
    for (let i = 0; i < config.numLayers; i++) {
      ({ h, normed } = g.scope(`block_${i}`, () =>
        this.block(i, h, normed, [modulationRows, conditionedRows], context, crossBias, rope),
      ));
      const wanted = this.options.debugBlocks;
      if (wanted === undefined || wanted.includes(i)) this.debug(`block_${i}_out`, h);
    }

    const out = g.scope('output', () => {
      const layerNormed = g.op('LayerNormalization', [h, this.ones()], {
        axis: attr.i(-1),
        epsilon: attr.f(config.normEps),
      });
      this.debug('norm_out_out', layerNormed);
      // (shift, scale) = scale_shift_table [2, D] + embedded timestep.
      const table = this.weight32('scale_shift_table');
      const shiftScale = (timestepEmbedding: string): string[] =>
        g.opMulti(
          'Split',
          [
            g.op('Add', [table, g.op('Unsqueeze', [timestepEmbedding, g.ints([1])])]),
            g.ints([1, 1]),
          ],
          2,
          { axis: attr.i(1) },
        );
      const [shift, scale] = shiftScale(embedded);
      const [conditionedShift, conditionedScale] = shiftScale(conditioned.embedded);
      const modulated = this.modulate(
        layerNormed,
        this.modulation(
          [shift as string, scale as string],
          [conditionedShift as string, conditionedScale as string],
        ),
      );
      return this.toFloat32(this.linear(this.toCompute(modulated), 'proj_out'));
    });
    g.output(out, TRANSFORMER_IO.velocity, 'float32', ['batch', 'tokens', config.outChannels]);
    return g;
  }

  private block(
    index: number,
    h: string,
    normed: string,
    [modulationRows, conditionedRows]: readonly [string, string],
    context: string,
    crossBias: string,
    rope: { cos: string; sin: string },
  ): { h: string; normed: string } {
    const { g } = this;
    const prefix = `transformer_blocks.${index}`;
    const debugBlock = index === 0;
    const table = this.weight32(`${prefix}.scale_shift_table`);
    const rows = (modulationOf: string): string[] =>
      g
        .opMulti('Split', [g.op('Add', [table, modulationOf]), g.ints([1, 1, 1, 1, 1, 1])], 6, {
          axis: attr.i(2),
        })
        .map((part) => g.op('Squeeze', [part, g.ints([2])]));
    const [shift1, scale1, gate1, shift2, scale2, gate2] = rows(modulationRows) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const conditionedValues = rows(conditionedRows) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const [cShift1, cScale1, cGate1, cShift2, cScale2, cGate2] = conditionedValues;

    // 1–2. Self-attention on the modulated norm, gated.
    const selfIn = this.toCompute(
      this.modulate(normed, this.modulation([shift1, scale1], [cShift1, cScale1])),
    );
    const selfOut = g.scope('attn1', () => {
      const qkv = this.fusedLinear(selfIn, [
        `${prefix}.attn1.to_q`,
        `${prefix}.attn1.to_k`,
        `${prefix}.attn1.to_v`,
      ]);
      const [q, k, v] = g.opMulti('Split', [qkv, g.ints([this.d, this.d, this.d])], 3, {
        axis: attr.i(-1),
      });
      const query = this.rotate(this.qkNorm(q as string, `${prefix}.attn1.q_norm`), rope);
      const key = this.rotate(this.qkNorm(k as string, `${prefix}.attn1.k_norm`), rope);
      return this.attention(query, key, v as string, `${prefix}.attn1.to_out.0`);
    });
    if (debugBlock) this.debug('block_0_attn1_out', selfOut);
    h = g.op('Add', [h, g.op('Mul', [this.toFloat32(selfOut), this.pick(gate1, cGate1)])]);

    // 3. Cross-attention on the raw residual stream (no norm, no gate), then the FF norm.
    const crossOut = g.scope('attn2', () => {
      const q = this.linear(this.toCompute(h), `${prefix}.attn2.to_q`);
      const kv = this.fusedLinear(context, [`${prefix}.attn2.to_k`, `${prefix}.attn2.to_v`]);
      const [k, v] = g.opMulti('Split', [kv, g.ints([this.d, this.d])], 2, { axis: attr.i(-1) });
      const query = this.toCompute(this.qkNorm(q, `${prefix}.attn2.q_norm`));
      const key = this.toCompute(this.qkNorm(k as string, `${prefix}.attn2.k_norm`));
      return this.attention(query, key, v as string, `${prefix}.attn2.to_out.0`, crossBias);
    });
    if (debugBlock) this.debug('block_0_attn2_out', crossOut);
    const afterCross = this.addAndNorm(h, this.toFloat32(crossOut));

    // 4. Gated feed-forward on the modulated norm.
    const ffIn = this.toCompute(
      this.modulate(afterCross.normed, this.modulation([shift2, scale2], [cShift2, cScale2])),
    );
    const ffOut = g.scope('ff', () => {
      const up = this.linear(ffIn, `${prefix}.ff.net.0.proj`, false);
      const activated = g.op(
        'FastGelu',
        [up, this.bias(`${prefix}.ff.net.0.proj`)],
        {},
        { domain: 'com.microsoft' },
      );
      return this.linear(activated, `${prefix}.ff.net.2`);
    });
    if (debugBlock) this.debug('block_0_ff_out', ffOut);
    const gated = g.op('Mul', [this.toFloat32(ffOut), this.pick(gate2, cGate2)]);
    if (index === this.config.numLayers - 1) {
      return { h: g.op('Add', [afterCross.sum, gated]), normed: '' };
    }
    const next = this.addAndNorm(afterCross.sum, gated);
    return { h: next.sum, normed: next.normed };
  }

  /** softmax(q·kᵀ/√hd + bias)·v per head, then the output projection. */
  private attention(
    query: string,
    key: string,
    value: string,
    outName: string,
    bias?: string,
  ): string {
    const heads = this.config.numAttentionHeads;
    const attended = attention(this.g, query, key, value, {
      heads,
      headSize: this.d / heads,
      ...(bias === undefined ? {} : { bias }),
      dtype: this.compute,
      kernel: this.options.attention ?? 'fused',
    });
    return this.linear(attended, outName);
  }

  /** RMSNorm over the full width (eps 1e-5, with weight), in float32. */
  private qkNorm(x: string, name: string): string {
    return this.g.op(
      'SimplifiedLayerNormalization',
      [this.toFloat32(x), this.weight32(`${name}.weight`)],
      {
        axis: attr.i(-1),
        epsilon: attr.f(QK_NORM_EPS),
      },
    );
  }

  /** Rotary embedding over the full width (one "head" of width D), float32, to compute dtype. */
  private rotate(x: string, rope: { cos: string; sin: string }): string {
    const { g } = this;
    // Each token's width is cut into `ropeChunks` consecutive rows of a longer sequence (whose
    // caches are cut the same way): ONNX Runtime's CUDA kernel takes at most 1024 values per
    // rotated row, and the pairs never straddle a cut.
    const rows = g.op('Reshape', [x, g.ints([0, -1, this.d / this.ropeChunks])]);
    const rotated = g.op(
      'RotaryEmbedding',
      [rows, g.ints([0]), rope.cos, rope.sin],
      { interleaved: attr.i(1), num_heads: attr.i(1) },
      { domain: 'com.microsoft' },
    );
    return this.toCompute(g.op('Reshape', [rotated, g.ints([0, -1, this.d])]));
  }

  /** How many rows each token's width is rotated as (a divisor of D/2, each row ≤ 1024 wide). */
  private get ropeChunks(): number {
    const pairs = this.d / 2;
    let chunks = this.config.attentionHeadDim % 2 === 0 ? this.config.numAttentionHeads : 1;
    while (this.d / chunks > 1024 || pairs % chunks !== 0) chunks++;
    return chunks;
  }

  /**
   * Assembles the per-token cos/sin caches [N, D/2] (one value per rotated pair) from the
   * compact tables: gather each token's three rows, interleave frequency-major/axis-minor,
   * then pad the (D mod 6)/2 leading pairs with cos 1, sin 0.
   */
  private ropeCaches(
    table: string,
    index: string,
    frequencies: number,
  ): { cos: string; sin: string } {
    const { g, d } = this;
    const gathered = g.op('Gather', [table, index], { axis: attr.i(0) }); // [N, 3, 2, n_f]
    const ordered = g.op('Transpose', [gathered], { perm: attr.ints([2, 0, 3, 1]) }); // [2, N, n_f, 3]
    const flat = g.op('Reshape', [ordered, g.ints([2, -1, 3 * frequencies])]);
    const [cosRows, sinRows] = g.opMulti('Split', [flat, g.ints([1, 1])], 2, { axis: attr.i(0) });
    const padPairs = (d % 6) / 2;
    const finish = (rows: string, padValue: number, name: string): string => {
      let cache = g.op('Squeeze', [rows, g.ints([0])]);
      if (padPairs > 0) {
        cache = g.op('Pad', [cache, g.ints([0, padPairs, 0, 0]), g.scalar(padValue)]);
      }
      if (this.options.debug === true) {
        // The reference's [B, N, D] layout: every pair's value twice.
        const doubled = g.op('Expand', [
          g.op('Unsqueeze', [cache, g.ints([-1])]),
          g.ints([1, 1, 2]),
        ]);
        this.debug(name, g.op('Reshape', [doubled, g.ints([1, -1, d])]));
      }
      return cache;
    };
    const chunked = (cache: string): string =>
      g.op('Reshape', [cache, g.ints([-1, d / 2 / this.ropeChunks])]);
    return {
      cos: chunked(finish(cosRows as string, 1, 'rope_cos')),
      sin: chunked(finish(sinRows as string, 0, 'rope_sin')),
    };
  }

  /** x·(1 + scale) + shift, float32, with each token's own (1 + scale) and shift. */
  private modulate(x: string, modulation: { onePlusScale: string; shift: string }): string {
    const { g } = this;
    return g.op('Add', [g.op('Mul', [x, modulation.onePlusScale]), modulation.shift]);
  }

  /** Per-token (1 + scale, shift) [B, N, D] from the video's and the conditioned tokens'. */
  private modulation(
    [shift, scale]: readonly [string, string],
    [conditionedShift, conditionedScale]: readonly [string, string],
  ): { onePlusScale: string; shift: string } {
    const { g } = this;
    return {
      onePlusScale: this.pick(
        g.op('Add', [scale, g.scalar(1)]),
        g.op('Add', [conditionedScale, g.scalar(1)]),
      ),
      shift: this.pick(shift, conditionedShift),
    };
  }

  /** `conditioned` for conditioned tokens, `value` for the others: [B, 1, D] → [B, N, D]. */
  private pick(value: string, conditioned: string): string {
    return this.g.op('Where', [this.tokenMask, conditioned, value]);
  }

  /** Block RMSNorm (eps from the config, no weight), float32. */
  private rmsNorm(x: string): string {
    return this.g.op('SimplifiedLayerNormalization', [x, this.ones()], {
      axis: attr.i(-1),
      epsilon: attr.f(this.config.normEps),
    });
  }

  /** residual + delta, and its block RMSNorm, in one fused operator. */
  private addAndNorm(residual: string, delta: string): { sum: string; normed: string } {
    const outputs = this.g.opMulti(
      'SkipSimplifiedLayerNormalization',
      [delta, residual, this.ones()],
      4,
      { epsilon: attr.f(this.config.normEps) },
      { domain: 'com.microsoft' },
    );
    return { normed: outputs[0] as string, sum: outputs[3] as string };
  }

  private silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  /** x·Wᵀ (+ b) in the compute dtype; x must already be in it. */
  private linear(x: string, name: string, withBias = true): string {
    const product = this.g.op('MatMul', [x, this.matrix([name])]);
    return withBias ? this.g.op('Add', [product, this.bias(name)]) : product;
  }

  /** One product for several linears of the same input, outputs concatenated (q|k|v). */
  private fusedLinear(x: string, names: readonly string[]): string {
    const product = this.g.op('MatMul', [x, this.matrix(names)]);
    const biasName = `${names.join('+')}.bias`;
    const bias = this.g.initializer(biasName, this.compute, [this.d * names.length], async () => {
      const parts = await Promise.all(names.map((name) => this.weights(`${name}.bias`)));
      return this.encode(concat(parts), [this.d * names.length]);
    });
    return this.g.op('Add', [product, bias]);
  }

  /** A float32 linear (timestep embedding). */
  private linear32(x: string, name: string): string {
    const [out = 0, inputs = 0] = this.shape(`${name}.weight`);
    const label = `${name}.weight`;
    let weight = this.float32Weights.get(label);
    if (weight === undefined) {
      weight = this.g.initializer(label, 'float32', [inputs, out], async () =>
        tensorFromTyped(
          'float32',
          [inputs, out],
          transpose(await this.weights(label), out, inputs),
        ),
      );
      this.float32Weights.set(label, weight);
    }
    return this.g.op('Add', [this.g.op('MatMul', [x, weight]), this.weight32(`${name}.bias`)]);
  }

  /** Weights [out, in] of one or more linears → one [in, Σout] matrix in the compute dtype. */
  private matrix(names: readonly string[]): string {
    const shapes = names.map((name) => this.shape(`${name}.weight`));
    const inputs = shapes[0]?.[1] ?? 0;
    const outs = shapes.map(([out]) => out ?? 0);
    const total = outs.reduce((sum, out) => sum + out, 0);
    const label = names.length === 1 ? `${names[0] ?? ''}.weight` : `${names.join('+')}.weight`;
    return this.g.initializer(label, this.compute, [inputs, total], async () => {
      const out = new Float32Array(inputs * total);
      let column = 0;
      for (const [index, name] of names.entries()) {
        const rows = outs[index] ?? 0;
        const weight = await this.weights(`${name}.weight`);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < inputs; c++)
            out[c * total + column + r] = weight[r * inputs + c] ?? 0;
        }
        column += rows;
      }
      return this.encode(out, [inputs, total], label);
    });
  }

  private bias(name: string): string {
    const label = `${name}.bias`;
    const shape = this.shape(label);
    return this.g.initializer(label, this.compute, shape, async () =>
      this.encode(await this.weights(label), shape, label),
    );
  }

  /** A weight kept in float32 whatever the dtype (norm weights, modulation tables). */
  private weight32(name: string): string {
    const known = this.float32Weights.get(name);
    if (known !== undefined) return known;
    const shape = this.shape(name);
    const value = this.g.initializer(name, 'float32', shape, async () =>
      tensorFromTyped('float32', shape, await this.weights(name)),
    );
    this.float32Weights.set(name, value);
    return value;
  }

  private onesCache: string | undefined;
  private ones(): string {
    this.onesCache ??= this.g.constant('float32', [this.d], new Array<number>(this.d).fill(1));
    return this.onesCache;
  }

  private encode(values: Float32Array, shape: readonly number[], name = 'weight'): HostTensor {
    if (!this.half) return tensorFromTyped('float32', shape, values);
    for (const value of values) {
      if (Math.abs(value) > FLOAT16_MAX) {
        throw new Error(`Weight ${name} holds ${value}, beyond float16's range`);
      }
    }
    return tensorFromTyped('float16', shape, f32ToF16(values));
  }

  private toCompute(x: string): string {
    return this.half ? this.g.op('Cast', [x], { to: attr.i(ONNX_FLOAT16) }) : x;
  }

  private toFloat32(x: string): string {
    return this.half ? this.g.op('Cast', [x], { to: attr.i(ONNX_FLOAT) }) : x;
  }

  private debug(name: string, value: string): void {
    if (this.options.debug !== true) return;
    this.g.output(
      this.g.op('Cast', [value], { to: attr.i(ONNX_FLOAT) }),
      `debug.${name}`,
      'float32',
    );
  }

  private shape(name: string): number[] {
    const shape = this.shapes.get(name);
    if (shape === undefined) throw new Error(`The transformer has no tensor ${name}`);
    return shape;
  }
}

const ONNX_FLOAT = 1;
const ONNX_FLOAT16 = 10;
const FLOAT16_MAX = 65504;

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c] ?? 0;
  }
  return out;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
