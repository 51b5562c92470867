/**
 * The VAE's weights as its graph builders read them: a checkpoint's `vae.*` tensors (or random
 * ones, vae-random-weights.ts), each declared in a graph once checked against the shape the
 * config implies.
 */
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { elementCount, f32ToF16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import { VAE_PREFIX, type LtxCheckpoint } from './checkpoint.ts';

export type VaeDtype = 'float32' | 'float16';

/** The VAE's weights: a checkpoint's `vae.*` tensors, or random ones for benchmarks. */
export interface VaeWeights {
  /** The shape of tensor `key` (without `vae.`), or undefined when there is none. */
  shape(key: string, expected: readonly number[]): readonly number[] | undefined;
  /** Its values as float32. */
  read(key: string): Promise<Float32Array>;
}

export class VaeModelError extends Error {
  override readonly name = 'VaeModelError';
}

/** The `vae.*` tensors of an open checkpoint. */
export function checkpointVaeWeights(checkpoint: LtxCheckpoint): VaeWeights {
  return {
    shape: (key) => checkpoint.file.entries.get(`${VAE_PREFIX}${key}`)?.shape,
    read: (key) => checkpoint.readVaeFloat32(key),
  };
}

/**
 * Declares the weight `key` in `g` as `dtype`, checked against the source's shape and read when
 * the graph is saved; returns its name in the graph and the bytes it will take.
 */
export function declareVaeWeight(
  g: GraphBuilder,
  weights: VaeWeights,
  key: string,
  shape: readonly number[],
  dtype: VaeDtype,
): { readonly name: string; readonly bytes: number } {
  const found = weights.shape(key, shape);
  if (found === undefined) throw new VaeModelError(`The checkpoint has no tensor vae.${key}`);
  if (found.length !== shape.length || found.some((dim, i) => dim !== shape[i])) {
    throw new VaeModelError(
      `vae.${key} has shape [${found.join(', ')}]; the config implies [${shape.join(', ')}]`,
    );
  }
  const bytes = elementCount(shape) * (dtype === 'float32' ? 4 : 2);
  const name = g.initializer(key, dtype, shape, async (): Promise<HostTensor> => {
    const values = await weights.read(key);
    return dtype === 'float32'
      ? tensorFromTyped('float32', shape, values)
      : tensorFromTyped('float16', shape, f32ToF16(values));
  });
  return { name, bytes };
}
