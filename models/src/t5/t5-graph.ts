/**
 * The T5 v1.1 encoder (Hugging Face `T5EncoderModel`) as an ONNX graph, per
 * docs/model/pipeline.md §2.2:
 *
 *   x = E[ids]; bias = relative-position bias (block 0's table) + float32-min on padding keys;
 *   per block: x += Wo·MHA(RMS(x)·w₁ · Wqkv, bias, no 1/√dk);
 *              x += Wwo·(gelu_tanh(RMS(x)·w₂·Wi0) ⊙ RMS(x)·w₂·Wi1);
 *   last_hidden_state = RMS(x)·w_final.
 *
 * Inputs `input_ids`, `attention_mask` (int64 [batch, tokens]); output `last_hidden_state`
 * (float32 [batch, tokens, d_model]) whatever the weight precision.
 *
 * Operators are the ones ONNX Runtime's CUDA and WebGPU providers fuse: com.microsoft
 * MultiHeadAttention with an additive `attention_bias` [batch, heads, tokens, tokens] (position
 * bias + padding mask; `scale` 1 because T5 does not scale), SimplifiedLayerNormalization for
 * the RMS norms, ONNX Gelu(approximate="tanh"). q/k/v and wi_0/wi_1 are each one MatMul on
 * concatenated weights. Weights are stored transposed ([in, out]) so MatMul needs no Transpose.
 *
 * fp16 (dtype 'float16'): T5 v1.1's feed-forward outputs and residual stream exceed fp16's
 * 65504, so only the weights of the big matrices (embedding, attention, feed-forward) are fp16.
 * The residual stream, norms, attention and softmax stay float32, and each fp16 MatMul sees its
 * input divided by the row's max |x| (so the fp16 input is within ±1, and every partial sum of
 * the fp16 product is bounded by its weight column's L1 norm, which the conversion checks);
 * the float32 result is multiplied back. This keeps fp16
 * weight memory (the real encoder's 19 GB become 9.5 GB) and fp16 GEMMs without the overflow;
 * the relative error of the fp16 input is unchanged by the scaling. Hugging Face's answer (`wo`
 * kept in fp32, clamping the residual to ±64504) changes the numbers where it clamps; ours does
 * not. `activations: 'float16'` builds the naive all-fp16 graph, which overflows on T5 v1.1: it
 * exists to demonstrate that (see the tests), not for use.
 *
 * A weight that fp16 cannot carry safely (a value beyond 65504, or a MatMul column whose L1 norm
 * exceeds FP16_SAFE_SUM) stops the save with a T5Fp16RangeError. `float32Tensors` then keeps the
 * tensors `fp16UnsafeTensors` finds in float32 (their whole matrix: that MatMul runs in fp32 on
 * the unscaled input), and the rest stays fp16; `buildT5Onnx` does this by itself.
 */
import { attention, type AttentionKernel } from '../onnx/attention.ts';
import { attr, GraphBuilder } from '../onnx/graph-builder.ts';
import { f32ToF16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import type { T5EncoderConfig } from './config.ts';

export type T5WeightDType = 'float32' | 'float16';

/** What the graph builder reads weights from (T5Weights, or tensors in memory for tests). */
export interface T5WeightReader {
  readonly config: T5EncoderConfig;
  has(name: string): boolean;
  readFloat32(name: string, shape: readonly number[]): Promise<Float32Array>;
}

export interface T5GraphOptions {
  /** Precision of the embedding, attention and feed-forward weights. Default 'float32'. */
  readonly dtype?: T5WeightDType;
  /**
   * Precision of the activations. Default 'float32'. 'float16' (with fp16 weights) is the naive
   * all-fp16 graph that overflows on T5 v1.1; see the module comment.
   */
  readonly activations?: T5WeightDType;
  /** Also output `hidden_states_<i>`: the input of block i (0 = the token embeddings). */
  readonly debugOutputs?: boolean;
  /**
   * Checkpoint tensor names (e.g. `encoder.block.3.layer.1.DenseReluDense.wo.weight`) whose
   * weight matrix stays float32 when `dtype` is 'float16' (see `fp16UnsafeTensors`).
   */
  readonly float32Tensors?: ReadonlySet<string>;
  /** How attention is written (onnx/attention.ts); default 'fused'. */
  readonly attention?: AttentionKernel;
}

/**
 * An fp16 conversion refused because a weight could overflow in fp16. `tensors` are the
 * checkpoint tensors that make up the weight; building with them in `float32Tensors` avoids it.
 */
export class T5Fp16RangeError extends RangeError {
  readonly code = 'T5_FP16_RANGE';
  constructor(
    message: string,
    readonly weight: string,
    readonly tensors: readonly string[],
  ) {
    super(message);
    this.name = 'T5Fp16RangeError';
  }
}

/** Additive mask on padding keys: float32's lowest value, as transformers uses. */
const FLOAT32_MIN = -3.4028234663852886e38;
const FLOAT16_MIN = -65504;
/**
 * Largest fp16 sum the scaled MatMuls may reach: 65504 less a margin for the rounding of the
 * weights and of the scaled inputs to fp16.
 */
const FP16_SAFE_SUM = 60000;
/** Floor of the per-row scale, so that all-zero rows divide by something. */
const MIN_ROW_SCALE = 1e-30;

const ONNX_FLOAT = 1;
const ONNX_FLOAT16 = 10;

export function buildT5Graph(weights: T5WeightReader, options: T5GraphOptions = {}): GraphBuilder {
  const config = weights.config;
  const weightType = options.dtype ?? 'float32';
  const activationType = options.activations ?? 'float32';
  if (activationType === 'float16' && weightType !== 'float16') {
    throw new Error('float16 activations need float16 weights');
  }
  const keepFloat32 = options.float32Tensors ?? new Set<string>();
  if (activationType === 'float16' && keepFloat32.size > 0) {
    throw new Error('float32Tensors needs float32 activations');
  }
  /** The stored precision of a weight made of `files`. */
  const typeOf = (files: readonly string[]): T5WeightDType =>
    files.some((file) => keepFloat32.has(file)) ? 'float32' : weightType;
  const { dModel: d, numHeads: heads, dKv, dFf, vocabSize, numLayers } = config;
  const inner = heads * dKv;
  const g = new GraphBuilder({ name: 't5-encoder' });
  g.setMetadata('zeus.component', 't5-encoder');
  g.setMetadata('zeus.weights_dtype', weightType);
  if (weightType === 'float16' && keepFloat32.size > 0) {
    g.setMetadata('zeus.float32_tensors', [...keepFloat32].sort().join(','));
  }
  const inputIds = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch', 'tokens']);

  const toActivation = (value: string, from: T5WeightDType): string =>
    from === activationType
      ? value
      : g.op('Cast', [value], {
          to: attr.i(activationType === 'float16' ? ONNX_FLOAT16 : ONNX_FLOAT),
        });

  /** A weight in the activation precision (norm weights: small, kept exact). */
  const vector = (name: string, file: string): string =>
    g.initializer(name, activationType, [d], async () =>
      convert(await weights.readFloat32(file, [d]), [d], activationType, name, [file]),
    );

  /** A [in, out] matrix made of the transposed [out_k, in] file tensors, side by side. */
  const matrix = (name: string, files: readonly string[], rows: number, inDim: number): Weight => {
    const outDim = rows * files.length;
    const dtype = typeOf(files);
    // Known once declared; the source runs later, while the model is saved.
    let qualifiedName = name;
    qualifiedName = g.initializer(name, dtype, [inDim, outDim], async () => {
      const out = new Float32Array(inDim * outDim);
      for (const [part, file] of files.entries()) {
        transposeInto(
          await weights.readFloat32(file, [rows, inDim]),
          rows,
          inDim,
          out,
          outDim,
          part * rows,
        );
      }
      if (dtype === 'float16' && activationType === 'float32') {
        const largest = largestColumnL1(out, inDim, outDim);
        if (largest > FP16_SAFE_SUM) {
          throw new T5Fp16RangeError(
            `T5 weight ${qualifiedName} has a column with L1 norm ${largest.toFixed(0)}: its ` +
              `fp16 products could overflow; keep it in float32`,
            qualifiedName,
            files,
          );
        }
      }
      return convert(out, [inDim, outDim], dtype, qualifiedName, files);
    });
    return { value: qualifiedName, dtype };
  };

  const linear = (x: string, weight: Weight): string => {
    if (weight.dtype === activationType) return g.op('MatMul', [x, weight.value]);
    const rowMax = g.op('Max', [
      g.op('ReduceMax', [g.op('Abs', [x]), g.ints([-1])], { keepdims: attr.i(1) }),
      g.scalar(MIN_ROW_SCALE),
    ]);
    const scaled = g.op('Cast', [g.op('Div', [x, rowMax])], { to: attr.i(ONNX_FLOAT16) });
    const product = g.op('Cast', [g.op('MatMul', [scaled, weight.value])], {
      to: attr.i(ONNX_FLOAT),
    });
    return g.op('Mul', [product, rowMax]);
  };

  const rmsNorm = (x: string, weight: string): string =>
    g.op('SimplifiedLayerNormalization', [x, weight], {
      axis: attr.i(-1),
      epsilon: attr.f(config.layerNormEpsilon),
      stash_type: attr.i(1),
    });

  const embedFile = weights.has('encoder.embed_tokens.weight')
    ? 'encoder.embed_tokens.weight'
    : 'shared.weight';
  const embeddingType = typeOf([embedFile]);
  const embedding = g.initializer('embed_tokens', embeddingType, [vocabSize, d], async () =>
    convert(
      await weights.readFloat32(embedFile, [vocabSize, d]),
      [vocabSize, d],
      embeddingType,
      'embed_tokens',
      [embedFile],
    ),
  );
  let hidden = toActivation(
    g.op('Gather', [embedding, inputIds], { axis: attr.i(0) }),
    embeddingType,
  );

  const attentionBias = g.scope('position_bias', () =>
    positionBias(g, weights, config, attentionMask, inputIds, activationType),
  );

  const debugStates: string[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    debugStates.push(hidden);
    const prefix = `encoder.block.${layer}.layer`;
    const files = blockMatrixTensors(layer);
    hidden = g.scope(`block_${layer}`, () => {
      const normed = rmsNorm(hidden, vector('ln_attention', `${prefix}.0.layer_norm.weight`));
      const qkv = linear(normed, matrix('qkv', files.qkv, inner, d));
      const [q, k, v] = g.opMulti('Split', [qkv], 3, { axis: attr.i(-1), num_outputs: attr.i(3) });
      const attended = attention(g, q as string, k as string, v as string, {
        heads,
        headSize: dKv,
        scale: 1,
        bias: attentionBias,
        dtype: activationType,
        kernel: options.attention ?? 'fused',
      });
      let x = g.op('Add', [hidden, linear(attended, matrix('o', files.o, d, inner))]);

      const normedFf = rmsNorm(x, vector('ln_ff', `${prefix}.1.layer_norm.weight`));
      const gates = linear(normedFf, matrix('wi', files.wi, dFf, d));
      const [gate, up] = g.opMulti('Split', [gates], 2, {
        axis: attr.i(-1),
        num_outputs: attr.i(2),
      });
      const activated = g.op('Mul', [
        g.op('Gelu', [gate as string], { approximate: attr.s('tanh') }),
        up as string,
      ]);
      x = g.op('Add', [x, linear(activated, matrix('wo', files.wo, d, dFf))]);
      return x;
    });
  }
  const finalNorm = vector('final_layer_norm', 'encoder.final_layer_norm.weight');
  const output = toFloat32(g, rmsNorm(hidden, finalNorm), activationType);
  g.output(output, 'last_hidden_state', 'float32', ['batch', 'tokens', d]);
  if (options.debugOutputs === true) {
    debugStates.forEach((state, index) => {
      g.output(toFloat32(g, state, activationType), `hidden_states_${index}`, 'float32', [
        'batch',
        'tokens',
        d,
      ]);
    });
  }
  return g;
}

/**
 * [batch, heads, tokens, tokens]: bias[h, i, j] = table[bucket(j − i), h], plus the lowest
 * float on padding keys. The buckets of every relative distance are computed here once
 * (they saturate at max_distance), so the graph only gathers.
 */
function positionBias(
  g: GraphBuilder,
  weights: T5WeightReader,
  config: T5EncoderConfig,
  attentionMask: string,
  inputIds: string,
  activationType: T5WeightDType,
): string {
  const { relativeAttentionNumBuckets: buckets, numHeads: heads } = config;
  const reach = config.relativeAttentionMaxDistance;
  const table = g.initializer(
    'relative_attention_bias',
    activationType,
    [buckets, heads],
    async () =>
      convert(
        await weights.readFloat32(
          'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
          [buckets, heads],
        ),
        [buckets, heads],
        activationType,
        'relative_attention_bias',
        ['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'],
      ),
  );
  const bucketOfOffset = Array.from({ length: 2 * reach + 1 }, (_, index) =>
    BigInt(relativePositionBucket(index - reach, buckets, reach)),
  );
  const biasOfOffset = g.op(
    'Gather',
    [table, g.constant('int64', [2 * reach + 1], bucketOfOffset)],
    {
      axis: attr.i(0),
    },
  );
  const length = g.op('Squeeze', [
    g.op('Shape', [inputIds], { start: attr.i(1), end: attr.i(2) }),
    g.ints([0]),
  ]);
  const zero = g.constant('int64', [], [0n]);
  const one = g.constant('int64', [], [1n]);
  const positions = g.op('Range', [zero, length, one]);
  const offsets = g.op('Sub', [
    g.op('Unsqueeze', [positions, g.ints([0])]),
    g.op('Unsqueeze', [positions, g.ints([1])]),
  ]);
  const clipped = g.op('Clip', [
    offsets,
    g.constant('int64', [], [BigInt(-reach)]),
    g.constant('int64', [], [BigInt(reach)]),
  ]);
  const index = g.op('Add', [clipped, g.constant('int64', [], [BigInt(reach)])]);
  const bias = g.op('Unsqueeze', [
    g.op('Transpose', [g.op('Gather', [biasOfOffset, index], { axis: attr.i(0) })], {
      perm: attr.ints([2, 0, 1]),
    }),
    g.ints([0]),
  ]);
  const float = activationType === 'float16' ? ONNX_FLOAT16 : ONNX_FLOAT;
  const padding = g.op('Cast', [g.op('Sub', [one, attentionMask])], { to: attr.i(float) });
  const maskBias = g.op('Unsqueeze', [
    g.op('Mul', [
      padding,
      g.scalar(activationType === 'float16' ? FLOAT16_MIN : FLOAT32_MIN, activationType),
    ]),
    g.ints([1, 2]),
  ]);
  return g.op('Add', [bias, maskBias]);
}

/**
 * Transformers' bidirectional bucket of a relative position j − i: exact below
 * max_exact = buckets/4, then logarithmic up to max_distance, positive offsets in the upper
 * half. Computed in float64: at the integer boundaries (|r| = 16, 32, 64 for the defaults) the
 * float32 logs of the reference land on the same exact quotients, so both agree everywhere.
 */
export function relativePositionBucket(
  relativePosition: number,
  numBuckets: number,
  maxDistance: number,
): number {
  const half = Math.floor(numBuckets / 2);
  const maxExact = Math.floor(half / 2);
  const distance = Math.abs(relativePosition);
  const base = relativePosition > 0 ? half : 0;
  if (distance < maxExact) return base + distance;
  const large =
    maxExact +
    Math.trunc(
      (Math.log(distance / maxExact) / Math.log(maxDistance / maxExact)) * (half - maxExact),
    );
  return base + Math.min(large, half - 1);
}

function toFloat32(g: GraphBuilder, value: string, from: T5WeightDType): string {
  return from === 'float32' ? value : g.op('Cast', [value], { to: attr.i(ONNX_FLOAT) });
}

/** Writes the [rows, cols] matrix `source` transposed into columns [col0, col0+rows) of `out`. */
function transposeInto(
  source: Float32Array,
  rows: number,
  cols: number,
  out: Float32Array,
  outCols: number,
  col0: number,
): void {
  // Tiles keep both the reads and the writes within cache lines for the 4096×10240 matrices.
  const tile = 64;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        const rowOffset = r * cols;
        for (let c = c0; c < c1; c++) out[c * outCols + col0 + r] = source[rowOffset + c] as number;
      }
    }
  }
}

/** A MatMul weight: its name in the graph and its stored precision. */
interface Weight {
  readonly value: string;
  readonly dtype: T5WeightDType;
}

/** The checkpoint tensors of block `layer`'s four matrices, each [out_k, in]. */
function blockMatrixTensors(layer: number): Record<'qkv' | 'o' | 'wi' | 'wo', string[]> {
  const attention = `encoder.block.${layer}.layer.0.SelfAttention`;
  const ff = `encoder.block.${layer}.layer.1.DenseReluDense`;
  return {
    qkv: ['q', 'k', 'v'].map((p) => `${attention}.${p}.weight`),
    o: [`${attention}.o.weight`],
    wi: [`${ff}.wi_0.weight`, `${ff}.wi_1.weight`],
    wo: [`${ff}.wo.weight`],
  };
}

/**
 * The checkpoint tensors that an fp16 conversion cannot store safely: the embedding when a value
 * is beyond fp16's range, a matrix tensor when a value is, or when one of its rows (a column of
 * the transposed MatMul weight) has an L1 norm above FP16_SAFE_SUM. Reads every matrix once.
 */
export async function fp16UnsafeTensors(weights: T5WeightReader): Promise<string[]> {
  const { dModel: d, numHeads: heads, dKv, dFf, vocabSize, numLayers } = weights.config;
  const inner = heads * dKv;
  const unsafe: string[] = [];
  const embedFile = weights.has('encoder.embed_tokens.weight')
    ? 'encoder.embed_tokens.weight'
    : 'shared.weight';
  const embedding = await weights.readFloat32(embedFile, [vocabSize, d]);
  if (largestAbs(embedding) > FP16_MAX) unsafe.push(embedFile);
  for (let layer = 0; layer < numLayers; layer++) {
    const files = blockMatrixTensors(layer);
    const shapes: [readonly string[], number, number][] = [
      [files.qkv, inner, d],
      [files.o, d, inner],
      [files.wi, dFf, d],
      [files.wo, d, dFf],
    ];
    for (const [group, rows, inDim] of shapes) {
      for (const file of group) {
        const values = await weights.readFloat32(file, [rows, inDim]);
        // Rows of the [out, in] tensor are the columns of the transposed [in, out] weight.
        if (
          largestAbs(values) > FP16_MAX ||
          largestColumnL1(values, rows, inDim, true) > FP16_SAFE_SUM
        ) {
          unsafe.push(file);
        }
      }
    }
  }
  return unsafe;
}

const FP16_MAX = 65504;

function largestAbs(values: Float32Array): number {
  let largest = 0;
  for (const value of values) largest = Math.max(largest, Math.abs(value));
  return largest;
}

/**
 * With inputs scaled into ±1, an output of the fp16 MatMul (and every partial sum of it) is at
 * most its weight column's L1 norm: that bound proves the product cannot overflow. `byRow`
 * measures rows instead (the columns of the transposed matrix).
 */
function largestColumnL1(matrix: Float32Array, rows: number, cols: number, byRow = false): number {
  let largest = 0;
  if (byRow) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      const offset = r * cols;
      for (let c = 0; c < cols; c++) sum += Math.abs(matrix[offset + c] ?? 0);
      largest = Math.max(largest, sum);
    }
    return largest;
  }
  const sums = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const offset = r * cols;
    for (let c = 0; c < cols; c++) sums[c] = (sums[c] ?? 0) + Math.abs(matrix[offset + c] ?? 0);
  }
  for (const sum of sums) largest = Math.max(largest, sum);
  return largest;
}

/** float32 values as a tensor of `dtype`; refuses weights that fp16 cannot hold. */
function convert(
  values: Float32Array,
  shape: readonly number[],
  dtype: T5WeightDType,
  weight: string,
  tensors: readonly string[],
): HostTensor {
  if (dtype === 'float32') return tensorFromTyped('float32', shape, values);
  const largest = largestAbs(values);
  if (largest > FP16_MAX) {
    throw new T5Fp16RangeError(
      `T5 weight ${weight} has a value (${largest}) outside the float16 range; keep it in float32`,
      weight,
      tensors,
    );
  }
  return tensorFromTyped('float16', shape, f32ToF16(values));
}
