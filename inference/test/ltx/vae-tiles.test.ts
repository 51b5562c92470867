import { describe, expect, it } from 'vitest';
import {
  addTile,
  axisTotals,
  axisWeights,
  checkTiling,
  planAxis,
  parseVaeTile,
  toFrames,
  VaeTilingError,
} from '../../src/ltx/vae-tiles.ts';

describe('planAxis', () => {
  it('keeps a length that fits in one tile whole', () => {
    expect(planAxis(16, { cells: 16, overlap: 4 })).toEqual([{ start: 0, end: 16 }]);
    expect(planAxis(5, { cells: 16, overlap: 4 })).toEqual([{ start: 0, end: 5 }]);
  });

  it('covers a longer axis with as few tiles as keep the overlap, spread evenly', () => {
    // 40 cells (1280 px) in 16-cell tiles sharing at least 4: three tiles, sharing 4 each.
    expect(planAxis(40, { cells: 16, overlap: 4 })).toEqual([
      { start: 0, end: 16 },
      { start: 12, end: 28 },
      { start: 24, end: 40 },
    ]);
    // One cell too long for one tile: two tiles sharing almost everything.
    expect(planAxis(17, { cells: 16, overlap: 4 })).toEqual([
      { start: 0, end: 16 },
      { start: 1, end: 17 },
    ]);
    for (const length of [17, 23, 24, 29, 40, 41, 64]) {
      const tiles = planAxis(length, { cells: 16, overlap: 4 });
      expect(tiles[0]?.start).toBe(0);
      expect(tiles.at(-1)?.end).toBe(length);
      for (let i = 1; i < tiles.length; i++) {
        const shared = (tiles[i - 1]?.end ?? 0) - (tiles[i]?.start ?? 0);
        expect(shared, `${length} cells`).toBeGreaterThanOrEqual(4);
      }
      // One tile fewer could not keep the overlap.
      expect((tiles.length - 1) * 12 + 4).toBeLessThan(length);
    }
  });

  it('refuses tilings that cannot work', () => {
    expect(() => {
      checkTiling({ cells: 1, overlap: 0 });
    }).toThrow(VaeTilingError);
    expect(() => {
      checkTiling({ cells: 16, overlap: 0 });
    }).toThrow(/overlap by 1 to 8 cells/);
    expect(() => {
      checkTiling({ cells: 16, overlap: 9 });
    }).toThrow(/overlap by 1 to 8 cells/);
    expect(() => planAxis(0, { cells: 16, overlap: 4 })).toThrow(/Cannot tile 0 cells/);
  });
});

describe('weights', () => {
  it('fade each tile out where the next fades in, summing to 1 on every pixel', () => {
    const tiles = planAxis(7, { cells: 4, overlap: 2 }); // [0,4) [2,6) [3,7)
    expect(tiles).toEqual([
      { start: 0, end: 4 },
      { start: 2, end: 6 },
      { start: 3, end: 7 },
    ]);
    const first = axisWeights(tiles, 0, 2);
    expect(Array.from(first)).toEqual([1, 1, 1, 1, 0.875, 0.625, 0.375, 0.125]);
    const middle = axisWeights(tiles, 1, 2);
    // Rises over the 4 pixels it shares with the first, falls over the 6 it shares with the
    // last; where both apply (cell 3, which all three tiles share) the lower one.
    expect(middle[0]).toBe(0.125);
    expect(middle[2]).toBe(0.625);
    expect(middle[3]).toBe(0.75);
    expect(middle[7]).toBeCloseTo(1 / 12, 6);
    const totals = axisTotals(tiles, 2);
    expect(totals).toHaveLength(14);
    // Where three tiles meet the weights sum past 1; blending divides by the total.
    for (const [pixel, total] of totals.entries()) {
      expect(total, `pixel ${pixel}`).toBeGreaterThan(0.99);
    }
    const twoTiles = planAxis(24, { cells: 16, overlap: 4 });
    for (const total of axisTotals(twoTiles, 32)) expect(total).toBeCloseTo(1, 6);
  });

  it('blend two flat tiles into a ramp from one value to the other across their overlap', () => {
    const rows = planAxis(1, { cells: 4, overlap: 2 });
    const columns = planAxis(6, { cells: 4, overlap: 2 }); // [0,4) [2,6)
    const scale = 2;
    const size = { count: 1, height: 2, width: 12 };
    const sums = new Float32Array(size.height * size.width * 3);
    const rowWeights = axisWeights(rows, 0, scale);
    const tile = (value: number): Uint8Array => new Uint8Array(1 * 2 * 8 * 3).fill(value);
    addTile(sums, size, tile(100), { top: 0, left: 0 }, rowWeights, axisWeights(columns, 0, 2));
    addTile(sums, size, tile(200), { top: 0, left: 4 }, rowWeights, axisWeights(columns, 1, 2));
    const frames = toFrames(sums, size, axisTotals(rows, scale), axisTotals(columns, scale));
    const reds = Array.from({ length: 12 }, (_, x) => frames[x * 3]);
    expect(reds).toEqual([100, 100, 100, 100, 113, 138, 163, 188, 200, 200, 200, 200]);
    // Both rows alike, and the three channels.
    expect(Array.from(frames.subarray(36, 72))).toEqual(Array.from(frames.subarray(0, 36)));
    expect(frames[13]).toBe(frames[12]);
  });

  it('refuses a tile of the wrong size', () => {
    const weights = new Float32Array(4).fill(1);
    expect(() => {
      addTile(
        new Float32Array(48),
        { count: 1, height: 4, width: 4 },
        new Uint8Array(10),
        { top: 0, left: 0 },
        weights,
        weights,
      );
    }).toThrow(VaeTilingError);
  });
});

describe('parseVaeTile (ZEUS_VAE_TILE)', () => {
  it('reads off, or a size in pixels whose tiles share a quarter of it', () => {
    expect(parseVaeTile('off')).toBeUndefined();
    expect(parseVaeTile(' OFF ')).toBeUndefined();
    expect(parseVaeTile('512')).toEqual({ cells: 16, overlap: 4 });
    expect(parseVaeTile('128')).toEqual({ cells: 4, overlap: 1 });
    expect(parseVaeTile('4096')).toEqual({ cells: 128, overlap: 32 });
  });

  it('refuses anything else, saying what it takes', () => {
    for (const text of ['on', '500', '96', '4128', '512px', '-512', '5e2']) {
      expect(() => parseVaeTile(text), text).toThrow(
        `must be off or a tile size in pixels, a multiple of 32 from 128 to 4096 (got "${text}")`,
      );
    }
  });
});
