import { SeededRandom } from '../seeded-random.ts';
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
      const random = new SeededRandom(seed).stream(key);
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = random.between(-bound, bound);
      return Promise.resolve(values);
    },
  };
}
