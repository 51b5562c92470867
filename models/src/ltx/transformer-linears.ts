/**
 * The transformer graph's weights and linear layers in its precision (transformer-graph.ts):
 * matrices stored transposed ([in, out]) in the compute dtype, with q|k|v and k|v fused into one
 * product, and the timestep embedding, norm weights and modulation tables kept in float32.
 */
import { attr, type GraphBuilder } from '../onnx/graph-builder.ts';
import { f32ToF16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import type { LtxTransformerConfig } from './checkpoint-config.ts';
import { transformerTensorShapes } from './checkpoint.ts';

export type TransformerDType = 'float32' | 'float16';

/**
 * The transformer's weights by state-dict name (without `model.diffusion_model.`), as float32
 * [out, in] like the checkpoint. Called once per tensor while the model is written.
 */
export type TransformerWeights = (name: string) => Promise<Float32Array>;

const ONNX_FLOAT = 1;
const ONNX_FLOAT16 = 10;
const FLOAT16_MAX = 65504;

/** Declares the transformer's weights in `g` as its layers ask for them, each once. */
export class TransformerLinears {
  private readonly shapes: Map<string, number[]>;
  private readonly d: number;
  private readonly half: boolean;
  /** Float32 weights declared once and shared by both timestep chains. */
  private readonly float32Weights = new Map<string, string>();
  private onesCache: string | undefined;

  constructor(
    private readonly g: GraphBuilder,
    config: LtxTransformerConfig,
    private readonly weights: TransformerWeights,
    private readonly compute: TransformerDType,
  ) {
    this.shapes = transformerTensorShapes(config);
    this.d = config.innerDim;
    this.half = compute === 'float16';
  }

  /** x·Wᵀ (+ b) in the compute dtype; x must already be in it. */
  linear(x: string, name: string, withBias = true): string {
    const product = this.g.op('MatMul', [x, this.matrix([name])]);
    return withBias ? this.g.op('Add', [product, this.bias(name)]) : product;
  }

  /** One product for several linears of the same input, outputs concatenated (q|k|v). */
  fusedLinear(x: string, names: readonly string[]): string {
    const product = this.g.op('MatMul', [x, this.matrix(names)]);
    const biasName = `${names.join('+')}.bias`;
    const bias = this.g.initializer(biasName, this.compute, [this.d * names.length], async () => {
      const parts = await Promise.all(names.map((name) => this.weights(`${name}.bias`)));
      return this.encode(concat(parts), [this.d * names.length]);
    });
    return this.g.op('Add', [product, bias]);
  }

  /** A float32 linear (timestep embedding). */
  linear32(x: string, name: string): string {
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

  bias(name: string): string {
    const label = `${name}.bias`;
    const shape = this.shape(label);
    return this.g.initializer(label, this.compute, shape, async () =>
      this.encode(await this.weights(label), shape, label),
    );
  }

  /** A weight kept in float32 whatever the dtype (norm weights, modulation tables). */
  weight32(name: string): string {
    const known = this.float32Weights.get(name);
    if (known !== undefined) return known;
    const shape = this.shape(name);
    const value = this.g.initializer(name, 'float32', shape, async () =>
      tensorFromTyped('float32', shape, await this.weights(name)),
    );
    this.float32Weights.set(name, value);
    return value;
  }

  ones(): string {
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

  toCompute(x: string): string {
    return this.half ? this.g.op('Cast', [x], { to: attr.i(ONNX_FLOAT16) }) : x;
  }

  toFloat32(x: string): string {
    return this.half ? this.g.op('Cast', [x], { to: attr.i(ONNX_FLOAT) }) : x;
  }

  private shape(name: string): number[] {
    const shape = this.shapes.get(name);
    if (shape === undefined) throw new Error(`The transformer has no tensor ${name}`);
    return shape;
  }
}

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
