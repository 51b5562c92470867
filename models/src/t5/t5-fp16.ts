/**
 * T5 weights in float16 (t5-graph.ts, module comment): which checkpoint tensors fp16 cannot
 * carry safely, and the error that stops a conversion meeting one.
 */
import { f32ToF16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import { blockMatrixTensors, embeddingTensor, type T5WeightReader } from './weights.ts';

export type T5WeightDType = 'float32' | 'float16';

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

/**
 * Largest fp16 sum the scaled MatMuls may reach: 65504 less a margin for the rounding of the
 * weights and of the scaled inputs to fp16.
 */
export const FP16_SAFE_SUM = 60000;
const FP16_MAX = 65504;

/**
 * The checkpoint tensors that an fp16 conversion cannot store safely: the embedding when a value
 * is beyond fp16's range, a matrix tensor when a value is, or when one of its rows (a column of
 * the transposed MatMul weight) has an L1 norm above FP16_SAFE_SUM. Reads every matrix once.
 */
export async function fp16UnsafeTensors(weights: T5WeightReader): Promise<string[]> {
  const { dModel: d, numHeads: heads, dKv, dFf, vocabSize, numLayers } = weights.config;
  const inner = heads * dKv;
  const unsafe: string[] = [];
  const embedFile = embeddingTensor(weights);
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
export function largestColumnL1(
  matrix: Float32Array,
  rows: number,
  cols: number,
  byRow = false,
): number {
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
export function weightTensor(
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
