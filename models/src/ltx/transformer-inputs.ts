/**
 * Inputs of the LTX transformer graph that are computed in TypeScript, not in the graph:
 * the rotary-embedding tables and the sinusoidal timestep features. Both follow the reference's
 * float32 arithmetic operation by operation (docs/model/pipeline.md §5.1, §5.4): the rotary
 * angles reach ~1.5·10⁴ rad, where forming them in another precision (or with a GPU's fast cos)
 * moves the output by 10⁻⁴, so they are computed here once, the same on every execution
 * provider.
 */
import type { LtxTransformerConfig } from './checkpoint-config.ts';
import { TIMESTEP_FEATURES } from './checkpoint.ts';

const f32 = Math.fround;

/**
 * Compact rotary tables. The angle of token n, frequency k, axis a depends only on the
 * token's coordinate on that axis, and a video has few distinct coordinates per axis (frames,
 * rows, columns), so the graph receives one cos/sin row per distinct (axis, coordinate) and,
 * per token, which row each axis uses; it assembles the per-token tables itself.
 */
export interface RopeTables {
  /** [rows, 2, frequencies] float32: row r holds cos then sin of ω_k·(2p − 1) for all k. */
  readonly table: Float32Array;
  readonly rows: number;
  /** n_f = ⌊D/6⌋. */
  readonly frequencies: number;
  /** [tokens, 3] int64: the table row of each token's (time, y, x) coordinate. */
  readonly index: BigInt64Array;
  readonly tokens: number;
}

/** ω_k = θ^u_k · π / 2 with u = torch's float32 linspace(0, 1, n_f), all in float32. */
export function ropeFrequencies(config: LtxTransformerConfig): Float32Array {
  const count = Math.floor(config.innerDim / 6);
  const theta = f32(config.positionalEmbeddingTheta);
  const pi = f32(Math.PI);
  const out = new Float32Array(count);
  const step = count > 1 ? f32(1 / (count - 1)) : 0;
  for (let k = 0; k < count; k++) {
    // torch's linspace fills the first half forwards from the start, the rest backwards.
    const u = k < Math.floor(count / 2) ? f32(step * k) : f32(1 - f32(step * (count - 1 - k)));
    out[k] = f32(f32(f32(theta ** u) * pi) / 2);
  }
  return out;
}

/**
 * The rotary tables of one grid of fractional coordinates `grid` [3, N] (time in seconds, y
 * and x in pixels: the transformer's `indices_grid` for one batch entry).
 */
export function ropeTables(config: LtxTransformerConfig, grid: Float32Array): RopeTables {
  if (grid.length % 3 !== 0)
    throw new Error(`A coordinate grid has 3·N values, got ${grid.length}`);
  const tokens = grid.length / 3;
  const frequencies = ropeFrequencies(config);
  const count = frequencies.length;
  const index = new BigInt64Array(tokens * 3);
  const rows: Float32Array[] = [];
  for (let axis = 0; axis < 3; axis++) {
    const maxPos = f32(config.positionalEmbeddingMaxPos[axis] ?? 1);
    const rowOf = new Map<number, number>();
    for (let n = 0; n < tokens; n++) {
      const coordinate = grid[axis * tokens + n] ?? 0;
      let row = rowOf.get(coordinate);
      if (row === undefined) {
        row = rows.length;
        rowOf.set(coordinate, row);
        const position = f32(coordinate / maxPos);
        const centred = f32(f32(2 * position) - 1);
        const values = new Float32Array(2 * count);
        for (let k = 0; k < count; k++) {
          const angle = f32((frequencies[k] ?? 0) * centred);
          values[k] = Math.cos(angle);
          values[count + k] = Math.sin(angle);
        }
        rows.push(values);
      }
      index[n * 3 + axis] = BigInt(row);
    }
  }
  const table = new Float32Array(rows.length * 2 * count);
  for (const [row, values] of rows.entries()) table.set(values, row * 2 * count);
  return { table, rows: rows.length, frequencies: count, index, tokens };
}

/**
 * The full per-token tables [N, D] the reference builds (each angle's value twice in a row,
 * D mod 6 padding entries first with cos 1, sin 0) — for comparisons and tests.
 */
export function ropeFullTables(
  config: LtxTransformerConfig,
  tables: RopeTables,
): { cos: Float32Array; sin: Float32Array } {
  const width = config.innerDim;
  const pad = width % 6;
  const count = tables.frequencies;
  const cos = new Float32Array(tables.tokens * width);
  const sin = new Float32Array(tables.tokens * width);
  for (let n = 0; n < tables.tokens; n++) {
    const base = n * width;
    cos.fill(1, base, base + pad);
    for (let k = 0; k < count; k++) {
      for (let axis = 0; axis < 3; axis++) {
        const row = Number(tables.index[n * 3 + axis]);
        const at = base + pad + 2 * (3 * k + axis);
        const c = tables.table[row * 2 * count + k] ?? 0;
        const s = tables.table[row * 2 * count + count + k] ?? 0;
        cos[at] = c;
        cos[at + 1] = c;
        sin[at] = s;
        sin[at + 1] = s;
      }
    }
  }
  return { cos, sin };
}

/**
 * Sinusoidal timestep features [B, 256] for timesteps t ∈ [0, 1]: τ = t·multiplier, then
 * [cos(τ·φ_j)] ++ [sin(τ·φ_j)] with φ_j = exp(−ln(10⁴)·j / 128), float32 throughout.
 */
export function timestepFeatures(timesteps: ArrayLike<number>, multiplier: number): Float32Array {
  const half = TIMESTEP_FEATURES / 2;
  const logPeriod = f32(-Math.log(10000));
  const out = new Float32Array(timesteps.length * TIMESTEP_FEATURES);
  for (let b = 0; b < timesteps.length; b++) {
    const scaled = f32(f32(multiplier) * f32(timesteps[b] ?? 0));
    for (let j = 0; j < half; j++) {
      const frequency = f32(Math.exp(f32(f32(logPeriod * j) / half)));
      const argument = f32(scaled * frequency);
      out[b * TIMESTEP_FEATURES + j] = Math.cos(argument);
      out[b * TIMESTEP_FEATURES + half + j] = Math.sin(argument);
    }
  }
  return out;
}
