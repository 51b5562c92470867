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
 * exceeds FP16_SAFE_SUM) stops the save with a T5Fp16RangeError (t5-fp16.ts). `float32Tensors`
 * then keeps the tensors `fp16UnsafeTensors` finds in float32 (their whole matrix: that MatMul
 * runs in fp32 on the unscaled input), and the rest stays fp16; `buildT5Onnx` does this by itself.
 */
import { attention, type AttentionKernel } from '../onnx/attention.ts';
import { attr, GraphBuilder } from '../onnx/graph-builder.ts';
import {
  FP16_SAFE_SUM,
  largestColumnL1,
  T5Fp16RangeError,
  weightTensor,
  type T5WeightDType,
} from './t5-fp16.ts';
import { positionBias } from './t5-position-bias.ts';
import { blockMatrixTensors, embeddingTensor, type T5WeightReader } from './weights.ts';

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
      weightTensor(await weights.readFloat32(file, [d]), [d], activationType, name, [file]),
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
      return weightTensor(out, [inDim, outDim], dtype, qualifiedName, files);
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

  const embedFile = embeddingTensor(weights);
  const embeddingType = typeOf([embedFile]);
  const embedding = g.initializer('embed_tokens', embeddingType, [vocabSize, d], async () =>
    weightTensor(
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
