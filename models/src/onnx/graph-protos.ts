/**
 * GraphBuilder's records (graph-builder.ts) as the objects of ONNX's protobuf messages
 * (proto.ts): value infos, nodes with their attributes, and tensors with their bytes inline.
 */
import type { DType } from '../tensor/dtype.ts';
import type { HostTensor } from '../tensor/tensor.ts';
import type { Attribute, Dim } from './graph-builder.ts';
import { ATTRIBUTE_TYPE, ONNX_DATA_TYPE } from './proto.ts';

export interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly Dim[] | undefined;
}

export interface NodeRecord {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

export function tensorProto(name: string, tensor: HostTensor): object {
  return {
    name,
    dims: tensor.shape,
    dataType: ONNX_DATA_TYPE[tensor.dtype],
    rawData: tensor.bytes,
  };
}

export function valueInfoProto(info: ValueInfo): object {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE[info.dtype],
        ...(info.dims === undefined
          ? {}
          : {
              shape: {
                dim: info.dims.map((dim) =>
                  typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim },
                ),
              },
            }),
      },
    },
  };
}

export function nodeProto(node: NodeRecord): object {
  return {
    name: node.name,
    opType: node.opType,
    domain: node.domain,
    input: node.inputs,
    output: node.outputs,
    attribute: Object.entries(node.attributes).map(([name, attribute]) =>
      attributeProto(name, attribute),
    ),
  };
}

function attributeProto(name: string, attribute: Attribute): object {
  switch (attribute.kind) {
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: attribute.value };
    case 'int':
      return { name, type: ATTRIBUTE_TYPE.INT, i: attribute.value };
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: Buffer.from(attribute.value, 'utf8') };
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: attribute.value };
    case 'ints':
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: attribute.value };
    case 'tensor':
      return { name, type: ATTRIBUTE_TYPE.TENSOR, t: tensorProto(name, attribute.value) };
  }
}
