/**
 * The VAE decoder's spatial tiling (vae-decoder.ts, vae-tiles.ts): each tile's latents cropped
 * and decoded through their own temporal stream, all in step, and their frames blended into whole
 * frames.
 */
import { addTile, axisTotals, axisWeights, toFrames, type AxisTile } from './vae-tiles.ts';
import {
  checkLatents,
  VaeDecodeError,
  type DecodeOptions,
  type Dims5,
  type FrameBatch,
  type LatentVideo,
} from './vae-decode-io.ts';

/** A decode of whole frames through the temporal stream (the decoder's, for one tile). */
export type DecodeWhole = (
  latents: LatentVideo,
  noise: LatentVideo,
  dims: Dims5,
  options: DecodeOptions,
) => AsyncGenerator<FrameBatch>;

/**
 * Every tile through its own temporal stream, in step: each call of the plan is made for one
 * tile after the other (so only one tile's activations exist at a time), then their frames
 * are blended into whole frames.
 */
export async function* decodeTiles(
  decodeWhole: DecodeWhole,
  latents: LatentVideo,
  noise: LatentVideo,
  rows: readonly AxisTile[],
  columns: readonly AxisTile[],
  options: DecodeOptions,
): AsyncGenerator<FrameBatch> {
  const tiles = rows.flatMap((row, r) => columns.map((column, c) => ({ row, column, r, c })));
  const streams = tiles.map(({ row, column }) => {
    const tileLatents = cropLatents(latents, row, column);
    const tileNoise = cropLatents(noise, row, column);
    return decodeWhole(tileLatents, tileNoise, checkLatents(tileLatents, tileNoise), options);
  });
  let blend: Blend | undefined;
  for (;;) {
    const batches: FrameBatch[] = [];
    for (const stream of streams) {
      const step = await stream.next();
      if (step.done !== true) batches.push(step.value);
    }
    if (batches.length === 0) return;
    const [head] = batches;
    if (head === undefined || batches.length !== streams.length) {
      throw new VaeDecodeError('The tiles of a frame did not decode in step');
    }
    const current = (blend ??= makeBlend(rows, columns, head.height / (rows[0]?.end ?? 1)));
    const size = { count: head.count, height: current.height, width: current.width };
    const sums = new Float32Array(size.count * size.height * size.width * 3);
    tiles.forEach(({ row, column, r, c }, index) => {
      const batch = batches[index];
      if (batch === undefined || batch.count !== head.count || batch.start !== head.start) {
        throw new VaeDecodeError('The tiles of a frame did not decode in step');
      }
      const rowWeights = current.rowWeights[r] ?? new Float32Array();
      const columnWeights = current.columnWeights[c] ?? new Float32Array();
      const place = { top: row.start * current.scale, left: column.start * current.scale };
      addTile(sums, size, batch.frames, place, rowWeights, columnWeights);
    });
    yield {
      frames: toFrames(sums, size, current.rowTotals, current.columnTotals),
      count: head.count,
      start: head.start,
      height: current.height,
      width: current.width,
    };
  }
}

interface Blend {
  /** Pixels per latent cell. */
  readonly scale: number;
  readonly height: number;
  readonly width: number;
  readonly rowWeights: readonly Float32Array[];
  readonly columnWeights: readonly Float32Array[];
  readonly rowTotals: Float32Array;
  readonly columnTotals: Float32Array;
}

function makeBlend(rows: readonly AxisTile[], columns: readonly AxisTile[], scale: number): Blend {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new VaeDecodeError(`A tile decoded to ${scale} pixels a latent cell`);
  }
  return {
    scale,
    height: (rows.at(-1)?.end ?? 0) * scale,
    width: (columns.at(-1)?.end ?? 0) * scale,
    rowWeights: rows.map((_, index) => axisWeights(rows, index, scale)),
    columnWeights: columns.map((_, index) => axisWeights(columns, index, scale)),
    rowTotals: axisTotals(rows, scale),
    columnTotals: axisTotals(columns, scale),
  };
}

/** Rows [row.start, row.end) and columns [column.start, column.end) of every latent frame. */
function cropLatents(video: LatentVideo, row: AxisTile, column: AxisTile): LatentVideo {
  const [batch = 1, channels = 0, frames = 0, height = 0, width = 0] = video.shape;
  const rows = row.end - row.start;
  const cols = column.end - column.start;
  const out = new Float32Array(batch * channels * frames * rows * cols);
  let to = 0;
  for (let plane = 0; plane < batch * channels * frames; plane++) {
    for (let y = row.start; y < row.end; y++) {
      const from = (plane * height + y) * width + column.start;
      out.set(video.data.subarray(from, from + cols), to);
      to += cols;
    }
  }
  return { data: out, shape: [batch, channels, frames, rows, cols] };
}
