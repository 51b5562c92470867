/**
 * Spatial tiles for the VAE decoder (pure): a large latent frame is decoded as overlapping
 * tiles, each through the whole temporal stream, and the tiles' frames are blended back into
 * one, so the decoder's activations scale with a tile instead of the whole frame. In the
 * overlaps each tile's weight goes linearly from 1 to 0 across the shared pixels, the other's
 * from 0 to 1, so seams fade instead of showing.
 *
 * The decoder is made of local operations only (convolutions, per-pixel norms, depth-to-space),
 * so away from a tile's edges a tile's pixels are the untiled decoder's; near them it lacks the
 * neighbours' context, which the overlap hides.
 */

export interface VaeTiling {
  /** Latent cells per tile side (a cell is 32 pixels). */
  readonly cells: number;
  /** Latent cells two neighbouring tiles share at least (at most half a tile). */
  readonly overlap: number;
}

/** A tile's range along one axis, in latent cells: [start, end). */
export interface AxisTile {
  readonly start: number;
  readonly end: number;
}

export class VaeTilingError extends Error {
  override readonly name = 'VaeTilingError';
}

/** Pixels in a latent cell, each way (LTX-Video's VAE). */
export const VAE_CELL_PIXELS = 32;

/**
 * `ZEUS_VAE_TILE`: `off`, or a tile's side in pixels (a multiple of 32, 128 to 4096), its
 * neighbours sharing a quarter of it. Throws a VaeTilingError saying what is wrong.
 */
export function parseVaeTile(text: string): VaeTiling | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'off' || value === '') return undefined;
  const pixels = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(pixels >= 128 && pixels <= 4096 && pixels % VAE_CELL_PIXELS === 0)) {
    throw new VaeTilingError(
      `must be off or a tile size in pixels, a multiple of 32 from 128 to 4096 (got "${text}")`,
    );
  }
  const cells = pixels / VAE_CELL_PIXELS;
  return { cells, overlap: Math.max(1, Math.floor(cells / 4)) };
}

export function checkTiling(tiling: VaeTiling): void {
  const { cells, overlap } = tiling;
  if (!Number.isInteger(cells) || cells < 2) {
    throw new VaeTilingError(`A tile must be at least 2 latent cells wide (got ${cells})`);
  }
  if (!Number.isInteger(overlap) || overlap < 1 || 2 * overlap > cells) {
    throw new VaeTilingError(
      `Tiles must overlap by 1 to ${Math.floor(cells / 2)} cells for ${cells}-cell tiles (got ${overlap})`,
    );
  }
}

/**
 * Tiles covering `length` cells: one when it fits, otherwise as few tiles of `cells` as keep
 * every overlap at least `overlap`, spread evenly from the first cell to the last.
 */
export function planAxis(length: number, tiling: VaeTiling): AxisTile[] {
  checkTiling(tiling);
  if (!Number.isInteger(length) || length < 1) {
    throw new VaeTilingError(`Cannot tile ${length} cells`);
  }
  const { cells, overlap } = tiling;
  if (length <= cells) return [{ start: 0, end: length }];
  const count = Math.ceil((length - overlap) / (cells - overlap));
  const tiles: AxisTile[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.round((i * (length - cells)) / (count - 1));
    tiles.push({ start, end: start + cells });
  }
  return tiles;
}

/**
 * Weights of tile `index`'s pixels along its axis (`scale` pixels a cell): 1 inside, ramps down
 * to 0 across the pixels it shares with each neighbour, which ramps up over the same pixels, so
 * that the weights of every pixel sum to 1.
 */
export function axisWeights(
  tiles: readonly AxisTile[],
  index: number,
  scale: number,
): Float32Array {
  const tile = tiles[index];
  if (tile === undefined) throw new VaeTilingError(`No tile ${index}`);
  const first = tile.start * scale;
  const weights = new Float32Array((tile.end - tile.start) * scale).fill(1);
  const previous = tiles[index - 1];
  if (previous !== undefined) {
    const shared = (previous.end - tile.start) * scale;
    for (let i = 0; i < shared; i++) weights[i] = (i + 0.5) / shared;
  }
  const next = tiles[index + 1];
  if (next !== undefined) {
    const from = next.start * scale - first;
    const shared = weights.length - from;
    for (let i = 0; i < shared; i++) {
      const w = 1 - (i + 0.5) / shared;
      weights[from + i] = Math.min(weights[from + i] ?? 1, w);
    }
  }
  return weights;
}

/**
 * Adds a tile's RGB24 frames (`count` × `tileHeight` × `tileWidth` × 3), weighted, into the
 * whole frames' sums (`count` × `height` × `width` × 3) at pixel (`top`, `left`).
 */
export function addTile(
  sums: Float32Array,
  size: { readonly count: number; readonly height: number; readonly width: number },
  tile: Uint8Array,
  place: { readonly top: number; readonly left: number },
  rowWeights: Float32Array,
  columnWeights: Float32Array,
): void {
  const tileHeight = rowWeights.length;
  const tileWidth = columnWeights.length;
  if (tile.length !== size.count * tileHeight * tileWidth * 3) {
    throw new VaeTilingError('A tile has the wrong number of pixels');
  }
  for (let f = 0; f < size.count; f++) {
    for (let y = 0; y < tileHeight; y++) {
      const wy = rowWeights[y] ?? 0;
      let from = (f * tileHeight + y) * tileWidth * 3;
      let to = ((f * size.height + place.top + y) * size.width + place.left) * 3;
      for (let x = 0; x < tileWidth; x++) {
        const w = wy * (columnWeights[x] ?? 0);
        sums[to] = (sums[to] ?? 0) + w * (tile[from] ?? 0);
        sums[to + 1] = (sums[to + 1] ?? 0) + w * (tile[from + 1] ?? 0);
        sums[to + 2] = (sums[to + 2] ?? 0) + w * (tile[from + 2] ?? 0);
        from += 3;
        to += 3;
      }
    }
  }
}

/**
 * Each pixel's total weight along an axis (`tiles` cover it, `scale` pixels a cell): 1 wherever
 * at most two tiles meet; more where three do (tiles much wider than their stride).
 */
export function axisTotals(tiles: readonly AxisTile[], scale: number): Float32Array {
  const last = tiles.at(-1);
  const totals = new Float32Array((last?.end ?? 0) * scale);
  tiles.forEach((tile, index) => {
    const weights = axisWeights(tiles, index, scale);
    for (let i = 0; i < weights.length; i++) {
      const at = tile.start * scale + i;
      totals[at] = (totals[at] ?? 0) + (weights[i] ?? 0);
    }
  });
  return totals;
}

/** The blended frames: each weighted sum over its total weight, rounded to 8 bits. */
export function toFrames(
  sums: Float32Array,
  size: { readonly count: number; readonly height: number; readonly width: number },
  rowTotals: Float32Array,
  columnTotals: Float32Array,
): Uint8Array {
  const frames = new Uint8Array(sums.length);
  let i = 0;
  for (let f = 0; f < size.count; f++) {
    for (let y = 0; y < size.height; y++) {
      const wy = rowTotals[y] ?? 1;
      for (let x = 0; x < size.width; x++) {
        const w = wy * (columnTotals[x] ?? 1);
        for (let c = 0; c < 3; c++, i++) {
          frames[i] = Math.min(255, Math.max(0, Math.round((sums[i] ?? 0) / w)));
        }
      }
    }
  }
  return frames;
}
