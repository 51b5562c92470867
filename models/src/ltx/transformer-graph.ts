/**
 * The LTX-Video transformer (`Transformer3DModel`, docs/model/pipeline.md §5) as an ONNX graph,
 * built from the checkpoint's config and weights. One session run is one denoising step's
 * forward pass: every layer is inside, and only small tensors cross the host boundary.
 *
 * Its inputs and outputs are listed in transformer-io.ts; its weights and linear layers are in
 * transformer-linears.ts, its rotary embedding in transformer-rope.ts.
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
import type { LtxTransformerConfig } from './checkpoint-config.ts';
import { TIMESTEP_FEATURES } from './checkpoint.ts';
import { TRANSFORMER_IO } from './transformer-io.ts';
import {
  TransformerLinears,
  type TransformerDType,
  type TransformerWeights,
} from './transformer-linears.ts';
import { ropeCaches, rotate, type RopeCaches } from './transformer-rope.ts';

/** The cross-attention bias of padding text tokens: finite, as in the reference. */
const MASKED_BIAS = -10000;
/** Epsilon of the q/k RMSNorms (diffusers' RMSNorm in the reference's attention). */
const QK_NORM_EPS = 1e-5;

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
  private readonly w: TransformerLinears;
  private readonly d: number;
  private readonly compute: TransformerDType;
  /** conditioning_mask as [B, N, 1], set in build(). */
  private tokenMask = '';

  constructor(
    private readonly config: LtxTransformerConfig,
    weights: TransformerWeights,
    private readonly options: TransformerGraphOptions,
  ) {
    this.w = new TransformerLinears(this.g, config, weights, options.dtype);
    this.d = config.innerDim;
    this.compute = options.dtype;
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
      const hiddenT = this.w.linear32(input, 'adaln_single.emb.timestep_embedder.linear_1');
      const emb = this.w.linear32(
        this.silu(hiddenT),
        'adaln_single.emb.timestep_embedder.linear_2',
      );
      return { embedded: emb, modulation: this.w.linear32(this.silu(emb), 'adaln_single.linear') };
    };
    const { modulation, embedded } = g.scope('adaln_single', () => adaln(features));
    const conditioned = g.scope('adaln_single_conditioning', () => adaln(conditioningFeatures));
    this.debug('adaln_single_out', modulation);
    this.debug('adaln_embedded_timestep', embedded);
    // [B, 6D] → [B, 1, 6, D]: row r of every block's table adds chunk r.
    const modulationRows = g.op('Reshape', [modulation, g.ints([-1, 1, 6, d])]);
    const conditionedRows = g.op('Reshape', [conditioned.modulation, g.ints([-1, 1, 6, d])]);
    this.tokenMask = g.op('Unsqueeze', [conditioningMask, g.ints([2])]); // [B, N, 1]

    let h = this.w.toFloat32(this.w.linear(this.w.toCompute(hidden), 'patchify_proj'));
    this.debug('patchify_proj_out', h);

    const context = g.scope('caption_projection', () => {
      const projected = this.w.linear(this.w.toCompute(text), 'caption_projection.linear_1', false);
      const activated = g.op(
        'FastGelu',
        [projected, this.w.bias('caption_projection.linear_1')],
        {},
        { domain: 'com.microsoft' },
      );
      return this.w.linear(activated, 'caption_projection.linear_2');
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
      return this.w.toCompute(g.op('Expand', [rows, shape]));
    });

    const debug = this.options.debug === true ? this.debug.bind(this) : undefined;
    const rope = g.scope('rope', () =>
      ropeCaches(g, config, ropeTable, ropeIndex, frequencies, debug),
    );

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
      const layerNormed = g.op('LayerNormalization', [h, this.w.ones()], {
        axis: attr.i(-1),
        epsilon: attr.f(config.normEps),
      });
      this.debug('norm_out_out', layerNormed);
      // (shift, scale) = scale_shift_table [2, D] + embedded timestep.
      const table = this.w.weight32('scale_shift_table');
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
      return this.w.toFloat32(this.w.linear(this.w.toCompute(modulated), 'proj_out'));
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
    rope: RopeCaches,
  ): { h: string; normed: string } {
    const { g } = this;
    const prefix = `transformer_blocks.${index}`;
    const debugBlock = index === 0;
    const table = this.w.weight32(`${prefix}.scale_shift_table`);
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
    const selfIn = this.w.toCompute(
      this.modulate(normed, this.modulation([shift1, scale1], [cShift1, cScale1])),
    );
    const selfOut = g.scope('attn1', () => {
      const qkv = this.w.fusedLinear(selfIn, [
        `${prefix}.attn1.to_q`,
        `${prefix}.attn1.to_k`,
        `${prefix}.attn1.to_v`,
      ]);
      const [q, k, v] = g.opMulti('Split', [qkv, g.ints([this.d, this.d, this.d])], 3, {
        axis: attr.i(-1),
      });
      const query = this.w.toCompute(
        rotate(g, this.config, this.qkNorm(q as string, `${prefix}.attn1.q_norm`), rope),
      );
      const key = this.w.toCompute(
        rotate(g, this.config, this.qkNorm(k as string, `${prefix}.attn1.k_norm`), rope),
      );
      return this.attention(query, key, v as string, `${prefix}.attn1.to_out.0`);
    });
    if (debugBlock) this.debug('block_0_attn1_out', selfOut);
    h = g.op('Add', [h, g.op('Mul', [this.w.toFloat32(selfOut), this.pick(gate1, cGate1)])]);

    // 3. Cross-attention on the raw residual stream (no norm, no gate), then the FF norm.
    const crossOut = g.scope('attn2', () => {
      const q = this.w.linear(this.w.toCompute(h), `${prefix}.attn2.to_q`);
      const kv = this.w.fusedLinear(context, [`${prefix}.attn2.to_k`, `${prefix}.attn2.to_v`]);
      const [k, v] = g.opMulti('Split', [kv, g.ints([this.d, this.d])], 2, { axis: attr.i(-1) });
      const query = this.w.toCompute(this.qkNorm(q, `${prefix}.attn2.q_norm`));
      const key = this.w.toCompute(this.qkNorm(k as string, `${prefix}.attn2.k_norm`));
      return this.attention(query, key, v as string, `${prefix}.attn2.to_out.0`, crossBias);
    });
    if (debugBlock) this.debug('block_0_attn2_out', crossOut);
    const afterCross = this.addAndNorm(h, this.w.toFloat32(crossOut));

    // 4. Gated feed-forward on the modulated norm.
    const ffIn = this.w.toCompute(
      this.modulate(afterCross.normed, this.modulation([shift2, scale2], [cShift2, cScale2])),
    );
    const ffOut = g.scope('ff', () => {
      const up = this.w.linear(ffIn, `${prefix}.ff.net.0.proj`, false);
      const activated = g.op(
        'FastGelu',
        [up, this.w.bias(`${prefix}.ff.net.0.proj`)],
        {},
        { domain: 'com.microsoft' },
      );
      return this.w.linear(activated, `${prefix}.ff.net.2`);
    });
    if (debugBlock) this.debug('block_0_ff_out', ffOut);
    const gated = g.op('Mul', [this.w.toFloat32(ffOut), this.pick(gate2, cGate2)]);
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
    return this.w.linear(attended, outName);
  }

  /** RMSNorm over the full width (eps 1e-5, with weight), in float32. */
  private qkNorm(x: string, name: string): string {
    return this.g.op(
      'SimplifiedLayerNormalization',
      [this.w.toFloat32(x), this.w.weight32(`${name}.weight`)],
      {
        axis: attr.i(-1),
        epsilon: attr.f(QK_NORM_EPS),
      },
    );
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
    return this.g.op('SimplifiedLayerNormalization', [x, this.w.ones()], {
      axis: attr.i(-1),
      epsilon: attr.f(this.config.normEps),
    });
  }

  /** residual + delta, and its block RMSNorm, in one fused operator. */
  private addAndNorm(residual: string, delta: string): { sum: string; normed: string } {
    const outputs = this.g.opMulti(
      'SkipSimplifiedLayerNormalization',
      [delta, residual, this.w.ones()],
      4,
      { epsilon: attr.f(this.config.normEps) },
      { domain: 'com.microsoft' },
    );
    return { normed: outputs[0] as string, sum: outputs[3] as string };
  }

  private silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  private debug(name: string, value: string): void {
    if (this.options.debug !== true) return;
    this.g.output(
      this.g.op('Cast', [value], { to: attr.i(ONNX_FLOAT) }),
      `debug.${name}`,
      'float32',
    );
  }
}

const ONNX_FLOAT = 1;
