/** Numbers as tensor bytes: how GraphBuilder stores its constants. */
import { BYTES_PER_ELEMENT, elementCount, floatToHalf, type DType } from '../tensor/dtype.ts';
import type { HostTensor } from '../tensor/tensor.ts';

/** Encodes numbers (or bigints for int64) as a little-endian tensor of `dtype`. */
export function encodeValues(
  dtype: DType,
  shape: readonly number[],
  values: ArrayLike<number> | ArrayLike<bigint>,
): HostTensor {
  const count = elementCount(shape);
  if (values.length !== count) {
    throw new Error(`${count} values needed for shape [${shape.join(', ')}], got ${values.length}`);
  }
  const bytes = new Uint8Array(count * BYTES_PER_ELEMENT[dtype]);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < count; index++) {
    const value = values[index] as number | bigint;
    switch (dtype) {
      case 'float32':
        view.setFloat32(index * 4, Number(value), true);
        break;
      case 'float64':
        view.setFloat64(index * 8, Number(value), true);
        break;
      case 'float16':
        view.setUint16(index * 2, floatToHalf(Number(value)), true);
        break;
      case 'int64':
        view.setBigInt64(index * 8, BigInt(value), true);
        break;
      case 'int32':
        view.setInt32(index * 4, Number(value), true);
        break;
      case 'int16':
        view.setInt16(index * 2, Number(value), true);
        break;
      case 'int8':
        view.setInt8(index, Number(value));
        break;
      case 'uint8':
      case 'bool':
        view.setUint8(index, Number(value));
        break;
      case 'bfloat16':
        throw new Error('encodeValues does not write bfloat16');
    }
  }
  return { dtype, shape: [...shape], bytes };
}
