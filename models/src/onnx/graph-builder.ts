/**
 * Builds ONNX models in TypeScript: inputs, outputs, nodes and initializers, then writes a
 * `.onnx` file whose large weights go to an external data file, so models over 2 GB load.
 *
 *   const g = new GraphBuilder({ name: 'mlp' });
 *   const x = g.input('x', 'float32', ['batch', 4]);
 *   const w = g.initializer('w', 'float32', [4, 2], () => readWeights());
 *   g.output(g.op('MatMul', [x, w]), 'y', 'float32', ['batch', 2]);
 *   await g.save('/models/mlp.onnx');
 *
 * Values are plain strings (ONNX value names). Initializer data is given as a function called
 * only while the file is written, one tensor at a time, so converting a checkpoint never holds
 * all of its weights in memory.
 */
import { open, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { BYTES_PER_ELEMENT, elementCount, type DType } from '../tensor/dtype.ts';
import type { HostTensor } from '../tensor/tensor.ts';
import { encodeValues } from './encode-values.ts';
import {
  nodeProto,
  tensorProto,
  valueInfoProto,
  type NodeRecord,
  type ValueInfo,
} from './graph-protos.ts';
import { DATA_LOCATION_EXTERNAL, IR_VERSION, ModelProto, ONNX_DATA_TYPE } from './proto.ts';

export type Dim = number | string;
export type TensorSource = HostTensor | (() => HostTensor | Promise<HostTensor>);

export type Attribute =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: HostTensor };

/** Attribute constructors: ONNX distinguishes int and float attributes, so say which. */
export const attr = {
  f: (value: number): Attribute => ({ kind: 'float', value }),
  i: (value: number): Attribute => ({ kind: 'int', value }),
  s: (value: string): Attribute => ({ kind: 'string', value }),
  floats: (value: readonly number[]): Attribute => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  t: (value: HostTensor): Attribute => ({ kind: 'tensor', value }),
};

export interface OpOptions {
  /** Operator domain: '' (ONNX) or e.g. 'com.microsoft' for ONNX Runtime's contrib operators. */
  readonly domain?: string;
  /** Node name; generated from the op type and the current prefix when absent. */
  readonly name?: string;
}

export interface SaveOptions {
  /**
   * Initializers of at least this many bytes go to `<model>.data` next to the model;
   * smaller ones stay inside it. Default 1024. Use Infinity to keep everything inline.
   */
  readonly externalThreshold?: number;
  /** Called after each initializer is written, with bytes written and bytes in all. */
  readonly onProgress?: (written: number, total: number) => void;
}

interface InitializerRecord {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly source: TensorSource;
}

/** Alignment of tensors in the external data file (lets ONNX Runtime map them directly). */
const EXTERNAL_ALIGNMENT = 4096;

export class GraphBuilder {
  readonly name: string;
  private readonly opsets: Record<string, number>;
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers: InitializerRecord[] = [];
  private readonly names = new Set<string>();
  private readonly prefixes: string[] = [];
  private readonly metadata: Record<string, string> = {};
  private counter = 0;

  constructor(options: { name?: string; opsets?: Record<string, number> } = {}) {
    this.name = options.name ?? 'graph';
    this.opsets = { '': 21, 'com.microsoft': 1, ...options.opsets };
  }

  /** Declares a graph input. Symbolic dims are strings (e.g. 'tokens'). */
  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.claim(name);
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  /**
   * Declares `value` a graph output named `name` (an Identity node renames it when needed).
   * `dims` may be left out when it is not known up front.
   */
  output(value: string, name: string, dtype: DType, dims?: readonly Dim[]): string {
    let outputName = value;
    if (name !== value) {
      this.claim(name);
      this.nodes.push({
        opType: 'Identity',
        domain: '',
        name: `${name}/identity`,
        inputs: [value],
        outputs: [name],
        attributes: {},
      });
      outputName = name;
    }
    this.outputs.push({ name: outputName, dtype, dims });
    return outputName;
  }

  /** Declares a weight. `source` is read only while the model is written. */
  initializer(name: string, dtype: DType, shape: readonly number[], source: TensorSource): string {
    const fullName = this.qualify(name);
    this.claim(fullName);
    this.initializers.push({ name: fullName, dtype, shape: [...shape], source });
    return fullName;
  }

  /** A small constant tensor stored in the model. */
  constant(
    dtype: DType,
    shape: readonly number[],
    values: ArrayLike<number> | ArrayLike<bigint>,
  ): string {
    return this.initializer(
      `const_${this.counter++}`,
      dtype,
      shape,
      encodeValues(dtype, shape, values),
    );
  }

  /** A 1-D int64 constant, the form ONNX uses for shapes, axes and indices. */
  ints(values: readonly number[]): string {
    return this.constant('int64', [values.length], values.map(BigInt));
  }

  /** A float32 scalar constant. */
  scalar(value: number, dtype: 'float32' | 'float16' = 'float32'): string {
    return this.constant(dtype, [], [value]);
  }

  /** Adds a node with one output and returns it. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, Attribute>> = {},
    options: OpOptions = {},
  ): string {
    const [output] = this.opMulti(opType, inputs, 1, attributes, options);
    return output as string;
  }

  /** Adds a node with `outputCount` outputs and returns them. */
  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, Attribute>> = {},
    options: OpOptions = {},
  ): string[] {
    const name = options.name ?? this.qualify(`${opType}_${this.counter++}`);
    const outputs = Array.from({ length: outputCount }, (_, index) => {
      const output = outputCount === 1 ? `${name}:out` : `${name}:out${index}`;
      this.claim(output);
      return output;
    });
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) {
        throw new Error(`Node ${name} (${opType}) uses undefined value "${input}"`);
      }
    }
    const domain = options.domain ?? '';
    if (!(domain in this.opsets)) throw new Error(`No opset declared for domain "${domain}"`);
    this.nodes.push({ opType, domain, name, inputs: [...inputs], outputs, attributes });
    return outputs;
  }

  /** Runs `build` with `prefix/` prepended to generated names (for readable graphs). */
  scope<T>(prefix: string, build: () => T): T {
    this.prefixes.push(prefix);
    try {
      return build();
    } finally {
      this.prefixes.pop();
    }
  }

  /** Adds a model-level metadata entry (visible through ONNX Runtime's session metadata). */
  setMetadata(key: string, value: string): void {
    this.metadata[key] = value;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /**
   * Writes the model to `modelPath` and its large initializers to `<modelPath>.data`.
   * The caller makes the result atomic (e.g. by writing into a temporary directory).
   */
  async save(modelPath: string, options: SaveOptions = {}): Promise<void> {
    const threshold = options.externalThreshold ?? 1024;
    const dataPath = `${modelPath}.data`;
    const total = this.initializers.reduce((sum, init) => sum + byteLength(init), 0);
    const external = this.initializers.some((init) => byteLength(init) >= threshold);
    const dataFile = external ? await open(dataPath, 'w') : undefined;
    const tensors: object[] = [];
    let written = 0;
    let offset = 0;
    try {
      for (const init of this.initializers) {
        const tensor = await materialise(init);
        const size = tensor.bytes.byteLength;
        if (dataFile !== undefined && size >= threshold) {
          offset = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
          await writeAll(dataFile, tensor.bytes, offset);
          tensors.push({
            name: init.name,
            dims: init.shape,
            dataType: ONNX_DATA_TYPE[init.dtype],
            dataLocation: DATA_LOCATION_EXTERNAL,
            externalData: [
              { key: 'location', value: basename(dataPath) },
              { key: 'offset', value: String(offset) },
              { key: 'length', value: String(size) },
            ],
          });
          offset += size;
        } else {
          tensors.push(tensorProto(init.name, tensor));
        }
        written += size;
        options.onProgress?.(written, total);
      }
      if (dataFile !== undefined) await dataFile.sync();
    } finally {
      await dataFile?.close();
    }
    if (!external) await rm(dataPath, { force: true });
    const modelFile = await open(modelPath, 'w');
    try {
      await writeAll(modelFile, this.encode(tensors), 0);
      await modelFile.sync();
    } finally {
      await modelFile.close();
    }
  }

  /** The whole model, weights inline, as bytes (for small models and tests). */
  async toBytes(): Promise<Uint8Array> {
    const tensors: object[] = [];
    for (const init of this.initializers)
      tensors.push(tensorProto(init.name, await materialise(init)));
    return this.encode(tensors);
  }

  private encode(initializers: object[]): Uint8Array {
    const message = ModelProto.fromObject({
      irVersion: IR_VERSION,
      producerName: 'zeus',
      producerVersion: '1',
      opsetImport: Object.entries(this.opsets).map(([domain, version]) => ({ domain, version })),
      metadataProps: Object.entries(this.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes.map(nodeProto),
        initializer: initializers,
        input: this.inputs.map(valueInfoProto),
        output: this.outputs.map(valueInfoProto),
      },
    });
    return ModelProto.encode(message).finish();
  }

  private qualify(name: string): string {
    return this.prefixes.length === 0 ? name : `${this.prefixes.join('/')}/${name}`;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`Duplicate ONNX value name "${name}"`);
    this.names.add(name);
  }
}

function byteLength(init: InitializerRecord): number {
  return elementCount(init.shape) * BYTES_PER_ELEMENT[init.dtype];
}

async function materialise(init: InitializerRecord): Promise<HostTensor> {
  const tensor = typeof init.source === 'function' ? await init.source() : init.source;
  const sameShape =
    tensor.shape.length === init.shape.length &&
    tensor.shape.every((dim, index) => dim === init.shape[index]);
  if (tensor.dtype !== init.dtype || !sameShape) {
    throw new Error(
      `Initializer ${init.name} was declared ${init.dtype}[${init.shape.join(', ')}] ` +
        `but its source gave ${tensor.dtype}[${tensor.shape.join(', ')}]`,
    );
  }
  if (tensor.bytes.byteLength !== byteLength(init)) {
    throw new Error(`Initializer ${init.name} has ${tensor.bytes.byteLength} bytes`);
  }
  return tensor;
}

async function writeAll(
  file: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(
      bytes,
      done,
      bytes.byteLength - done,
      position + done,
    );
    done += bytesWritten;
  }
}
