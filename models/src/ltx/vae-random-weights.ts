import { elementCount } from '../tensor/dtype.ts';
import type { VaeWeights } from './vae-weights.ts';

/**
 * Random weights of whatever shape the graph asks for (benchmarks at real widths without the
 * real file): uniform in ±1/√fan-in, deterministic per tensor name and seed.
 */
export function randomVaeWeights(seed = 1): VaeWeights {
  const shapes = new Map<string, readonly number[]>();
  return {
    shape: (key, expected) => {
      shapes.set(key, expected);
      return expected;
    },
    read: (key) => {
      const shape = shapes.get(key) ?? [];
      const count = elementCount(shape);
      if (key.endsWith('timestep_scale_multiplier')) return Promise.resolve(Float32Array.of(1000));
      if (key.endsWith('std-of-means')) return Promise.resolve(new Float32Array(count).fill(1));
      const fanIn = shape.length > 1 ? elementCount(shape.slice(1)) : 16;
      const bound = 1 / Math.sqrt(fanIn);
      let state = (seed ^ hashString(key)) >>> 0 || 1;
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        // xorshift32: fast, and good enough for weights nobody looks at.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        values[i] = ((state >>> 0) / 4294967296 - 0.5) * 2 * bound;
      }
      return Promise.resolve(values);
    },
  };
}

function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}
