import { BYTES_PER_ELEMENT, bf16ToF32, elementCount, f16ToF32, type DType } from './dtype.ts';

/** A dense tensor in host memory: raw little-endian bytes plus dtype and shape. */
export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Exactly elementCount(shape) * BYTES_PER_ELEMENT[dtype] bytes. */
  readonly bytes: Uint8Array;
}

export function tensorFromTyped(
  dtype: DType,
  shape: readonly number[],
  data: ArrayBufferView,
): HostTensor {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const expected = elementCount(shape) * BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength !== expected) {
    throw new Error(
      `Tensor of ${dtype}[${shape.join(', ')}] needs ${expected} bytes, got ${bytes.byteLength}`,
    );
  }
  return { dtype, shape: [...shape], bytes };
}

/** Copies bytes into a fresh, aligned ArrayBuffer so typed views can be made over them. */
function aligned(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/** The tensor's values as float32 (from float32, float16, bfloat16 or float64). */
export function toFloat32(tensor: HostTensor): Float32Array {
  const buffer = aligned(tensor.bytes);
  switch (tensor.dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float16':
      return f16ToF32(new Uint16Array(buffer));
    case 'bfloat16':
      return bf16ToF32(new Uint16Array(buffer));
    case 'float64':
      return Float32Array.from(new Float64Array(buffer));
    default:
      throw new Error(`Cannot read a ${tensor.dtype} tensor as float32`);
  }
}

/** The tensor's values as bigint64 (from int64). */
export function toBigInt64(tensor: HostTensor): BigInt64Array {
  if (tensor.dtype !== 'int64') throw new Error(`Expected int64, got ${tensor.dtype}`);
  return new BigInt64Array(aligned(tensor.bytes));
}
