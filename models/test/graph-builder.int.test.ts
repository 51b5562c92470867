import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeValues } from '../src/onnx/encode-values.ts';
import { attr, GraphBuilder } from '../src/onnx/graph-builder.ts';
import { fullPads } from '../src/onnx/pad.ts';
import { f16ToF32, f32ToF16 } from '../src/tensor/dtype.ts';
import { tensorFromTyped } from '../src/tensor/tensor.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-onnx-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('GraphBuilder', () => {
  it('writes a model with external weights that ONNX Runtime runs', async () => {
    const g = new GraphBuilder({ name: 'linear' });
    const x = g.input('x', 'float32', ['batch', 3]);
    const weights = Float32Array.from({ length: 3 * 512 }, (_, i) => (i % 7) - 3);
    let reads = 0;
    const w = g.initializer('w', 'float32', [3, 512], () => {
      reads++;
      return tensorFromTyped('float32', [3, 512], weights);
    });
    const y = g.op('MatMul', [x, w]);
    const z = g.op('Softmax', [y], { axis: attr.i(-1) });
    g.output(z, 'probabilities', 'float32', ['batch', 512]);
    g.output(y, 'logits', 'float32');
    const dir = await tempDir();
    const modelPath = join(dir, 'linear.onnx');
    const progress: number[] = [];
    await g.save(modelPath, { onProgress: (written) => progress.push(written) });
    expect(reads).toBe(1);
    expect((await stat(`${modelPath}.data`)).size).toBe(3 * 512 * 4);
    expect(progress.at(-1)).toBe(3 * 512 * 4);

    const session = await ort.InferenceSession.create(modelPath);
    const input = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 0, 0, 1]), [2, 3]);
    const out = await session.run({ x: input });
    const logits = out['logits']?.data as Float32Array;
    for (let j = 0; j < 512; j++) {
      const expected = weights[j]! * 1 + weights[512 + j]! * 2 + weights[1024 + j]! * 3;
      expect(logits[j]).toBeCloseTo(expected, 5);
      expect(logits[512 + j]).toBeCloseTo(weights[1024 + j]!, 5);
    }
    const probabilities = out['probabilities']?.data as Float32Array;
    const rowSum = probabilities.slice(0, 512).reduce((a, b) => a + b, 0);
    expect(rowSum).toBeCloseTo(1, 5);
    await session.release();
  });

  it('keeps small models inline and supports contrib operators and fp16', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float16', [2, 4]);
    const scale = g.constant('float16', [4], [1, 1, 1, 1]);
    const normed = g.op('SimplifiedLayerNormalization', [x, scale], {
      axis: attr.i(-1),
      epsilon: attr.f(1e-6),
    });
    g.output(g.op('Cast', [normed], { to: attr.i(1) }), 'y', 'float32', [2, 4]);
    const session = await ort.InferenceSession.create(await g.toBytes());
    const values = Float32Array.from([1, 2, 3, 4, -1, -1, 1, 1]);
    const out = await session.run({ x: new ort.Tensor('float16', f32ToF16(values), [2, 4]) });
    const y = out['y']?.data as Float32Array;
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4);
    expect(y[0]).toBeCloseTo(1 / rms, 2);
    expect(y[4]).toBeCloseTo(-1, 2);
    expect(f16ToF32(f32ToF16(values))).toEqual(values);
    await session.release();
  });

  it('rejects undefined inputs, duplicate names and mismatched sources', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', [1]);
    expect(() => g.op('Relu', ['nope'])).toThrow(/undefined value "nope"/);
    expect(() => g.input('x', 'float32', [1])).toThrow(/Duplicate/);
    g.initializer('w', 'float32', [2], encodeValues('float32', [3], [1, 2, 3]));
    await expect(g.toBytes()).rejects.toThrow(/declared float32\[2\]/);
  });
});

describe('fullPads', () => {
  it('writes every start, then every end, with the counts on one axis only', () => {
    expect(fullPads(5, 2, 2, 0)).toEqual([0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(fullPads(3, 0, 1, 4)).toEqual([1, 0, 0, 4, 0, 0]);
  });
});
