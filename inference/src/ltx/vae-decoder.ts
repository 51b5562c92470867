/**
 * Runs LTX-Video's VAE decoder (graphs from @zeus/models' vae-decoder-graph.ts): the sampler's
 * final latents and the decode noise in, 8-bit RGB frames out, in one pass or streamed in
 * temporal chunks with the same result (see vae-stream.ts), so the caller can hand frames to
 * ffmpeg while the rest of the video is still decoding.
 *
 * onnxruntime-node runs a model on the calling (JavaScript) thread, so a decode call blocks
 * the event loop: to encode while decoding, run the decoder or the ffmpeg feed in a worker
 * thread. Streamed calls at least return to the event loop between chunks.
 *
 *   const decoder = await VaeDecoder.load(converted.dir, { device: 'auto' });
 *   for await (const batch of decoder.decodeFrames(latents, noise, { chunkFrames: 16 })) {
 *     await writer.write(batch.frames); // batch.count frames of height × width × 3 bytes
 *   }
 */
import { join } from 'node:path';
import {
  planStream,
  readVaeDecoderManifest,
  VAE_IO,
  vaeTimestepFeatures,
  type StreamCall,
  type VaeDtype,
  type VaeStreamLayout,
} from '@zeus/models';
import {
  disposeOnDevice,
  ModelSession,
  tensor,
  type Device,
  type ExecutionProvider,
  type OrtTensor,
} from '../onnx/runtime.ts';
import {
  addTile,
  axisTotals,
  axisWeights,
  planAxis,
  toFrames,
  type AxisTile,
  type VaeTiling,
} from './vae-tiles.ts';

/** decode_timestep and decode_noise_scale of configs/ltxv-2b-0.9.6-distilled.yaml. */
export const LTX_DECODE_TIMESTEP = 0.05;
export const LTX_DECODE_NOISE_SCALE = 0.025;

/** A latent video [1, channels, frames, height, width], as the sampler leaves it. */
export interface LatentVideo {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export interface DecodeOptions {
  /** Decode timestep (default 0.05). */
  readonly timestep?: number;
  /** s in z·(1 − s) + ε·s (default 0.025). */
  readonly noiseScale?: number;
  /**
   * Stream in calls of about this many video frames (the first at least this many, the last
   * more: it also flushes the decoder's delay of about five latent frames). Leave it out to
   * decode in one pass. Short videos decode in one pass regardless.
   */
  readonly chunkFrames?: number;
  /**
   * Decode frames larger than a tile as overlapping spatial tiles, blended (vae-tiles.ts): the
   * activations are a tile's instead of the frame's. Left out: whole frames. Frames only: the
   * float outputs of parity models are not given when tiles are used.
   */
  readonly tiling?: VaeTiling;
}

export interface FrameBatch {
  /** `count` frames of `height × width × 3` bytes (RGB24), frame after frame. */
  readonly frames: Uint8Array;
  readonly count: number;
  /** Index of the first frame in the video. */
  readonly start: number;
  readonly height: number;
  readonly width: number;
  /** Raw decoder output [1, 3, count, height, width] (models built with float outputs). */
  readonly decoded?: Float32Array;
  /** clamp(decoded/2 + 1/2, 0, 1), same shape (models built with float outputs). */
  readonly video?: Float32Array;
}

export interface DecodedVideo {
  /** [frames, height, width, 3] RGB24. */
  readonly frames: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly decoded?: Float32Array;
  readonly video?: Float32Array;
}

export interface VaeDecoderModels {
  /** The first-call graph (one-pass decoder when given every frame): path or bytes. */
  readonly first: string | Uint8Array;
  /** The stream continuation graph. */
  readonly next: string | Uint8Array;
  readonly layout: VaeStreamLayout;
  readonly dtype: VaeDtype;
  /** The manifest's `timestepScaleMultiplier`. */
  readonly timestepScaleMultiplier: number;
}

export interface VaeDecoderOptions {
  readonly device: Device;
  readonly intraOpThreads?: number;
}

export class VaeDecodeError extends Error {
  override readonly name = 'VaeDecodeError';
}

export class VaeDecoder {
  private constructor(
    private readonly first: ModelSession,
    private readonly next: ModelSession,
    readonly layout: VaeStreamLayout,
    private readonly dtype: VaeDtype,
    private readonly timestepScaleMultiplier: number,
  ) {}

  /** Loads a converted decoder folder (see convertVaeDecoder) or explicit models. */
  static async load(
    source: string | VaeDecoderModels,
    options: VaeDecoderOptions,
  ): Promise<VaeDecoder> {
    let models: VaeDecoderModels;
    if (typeof source === 'string') {
      const manifest = await readVaeDecoderManifest(source);
      models = {
        first: join(source, manifest.firstModel),
        next: join(source, manifest.nextModel),
        layout: manifest.layout,
        dtype: manifest.dtype,
        timestepScaleMultiplier: manifest.timestepScaleMultiplier,
      };
    } else {
      models = source;
    }
    const sessionOptions = (name: string): Parameters<typeof ModelSession.load>[1] => ({
      device: options.device,
      name,
      // The causal state goes from one call to the next: on WebGPU it never leaves the GPU.
      deviceOutputs: (output) => output.startsWith(VAE_IO.stateOut),
      ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    });
    const first = await ModelSession.load(models.first, sessionOptions('VAE decoder'));
    try {
      const next = await ModelSession.load(models.next, sessionOptions('VAE decoder (stream)'));
      return new VaeDecoder(
        first,
        next,
        models.layout,
        models.dtype,
        models.timestepScaleMultiplier,
      );
    } catch (error) {
      await first.release();
      throw error;
    }
  }

  get provider(): ExecutionProvider {
    return this.first.provider;
  }

  /**
   * Where the causal state carried from one stream call to the next lives: in device memory
   * where the provider's binding allows it (WebGPU), else it crosses to the host and back.
   */
  get stateLocation(): 'device' | 'host' {
    const carried = (session: ModelSession): boolean =>
      session.outputNames
        .filter((name) => name.startsWith(VAE_IO.stateOut))
        .every((name) => session.outputsOnDevice.has(name));
    return this.first.outputsOnDevice.size > 0 && carried(this.first) && carried(this.next)
      ? 'device'
      : 'host';
  }

  /** The calls a decode of `latentFrames` latent frames makes with these options. */
  plan(latentFrames: number, options: DecodeOptions = {}): StreamCall[] {
    return planStream(this.layout, latentFrames, options.chunkFrames);
  }

  /**
   * Decodes `latents` (normalised, before decode noise) mixed with `noise` (same shape),
   * yielding frames as each call completes.
   */
  async *decodeFrames(
    latents: LatentVideo,
    noise: LatentVideo,
    options: DecodeOptions = {},
  ): AsyncGenerator<FrameBatch> {
    const dims = checkLatents(latents, noise);
    if (options.tiling !== undefined) {
      const rows = planAxis(dims[3], options.tiling);
      const columns = planAxis(dims[4], options.tiling);
      if (rows.length > 1 || columns.length > 1) {
        yield* this.decodeTiles(latents, noise, rows, columns, options);
        return;
      }
    }
    yield* this.decodeWhole(latents, noise, dims, options);
  }

  /**
   * Every tile through its own temporal stream, in step: each call of the plan is made for one
   * tile after the other (so only one tile's activations exist at a time), then their frames
   * are blended into whole frames.
   */
  private async *decodeTiles(
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
      return this.decodeWhole(
        tileLatents,
        tileNoise,
        checkLatents(tileLatents, tileNoise),
        options,
      );
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

  private async *decodeWhole(
    latents: LatentVideo,
    noise: LatentVideo,
    dims: Dims5,
    options: DecodeOptions,
  ): AsyncGenerator<FrameBatch> {
    const calls = this.plan(dims[2], options);
    const [firstCall, ...rest] = calls;
    if (firstCall === undefined) return;
    let outputs = await this.runFirst(latents, noise, dims, firstCall, options);
    // The state of the last call made; on WebGPU in device memory, freed once consumed or
    // when the caller stops early.
    let state = stateOf(outputs);
    try {
      let start = 0;
      let batch = frameBatch(outputs, start, firstCall);
      yield batch;
      start += batch.count;
      const pending = outputs[VAE_IO.pending];
      if (pending === undefined) {
        throw new VaeDecodeError('The VAE decoder gave no pending frames');
      }
      let offset = 0;
      for (const call of rest) {
        const feeds: Record<string, OrtTensor> = {
          [VAE_IO.chunk]: sliceFrames(pending, offset, call.tailFrames, this.dtype),
          [VAE_IO.last]: int64(call.last ? 1 : 0),
          ...this.timestepFeed(options),
        };
        for (const [name, value] of state) {
          feeds[VAE_IO.stateIn + name.slice(VAE_IO.stateOut.length)] = value;
        }
        outputs = await this.next.run(feeds);
        disposeOnDevice(state.values());
        state = stateOf(outputs);
        offset += call.tailFrames;
        batch = frameBatch(outputs, start, call);
        yield batch;
        start += batch.count;
      }
    } finally {
      disposeOnDevice(state.values());
    }
  }

  /**
   * One-pass decode returning every float32 output of the first graph by name (`decoded`,
   * `video` and `debug.*` when the model was built with them): for parity checks.
   */
  async decodeOutputs(
    latents: LatentVideo,
    noise: LatentVideo,
    options: Omit<DecodeOptions, 'chunkFrames'> = {},
  ): Promise<Record<string, Float32Array>> {
    const dims = checkLatents(latents, noise);
    const [call] = this.plan(dims[2]);
    if (call === undefined) throw new VaeDecodeError('Nothing to decode');
    const outputs = await this.runFirst(latents, noise, dims, call, options);
    disposeOnDevice(stateOf(outputs).values());
    const floats: Record<string, Float32Array> = {};
    for (const [name, value] of Object.entries(outputs)) {
      if (value.type === 'float32' && !name.startsWith(VAE_IO.stateOut)) {
        floats[name] = value.data as Float32Array;
      }
    }
    return floats;
  }

  private runFirst(
    latents: LatentVideo,
    noise: LatentVideo,
    dims: Dims5,
    call: StreamCall,
    options: DecodeOptions,
  ): Promise<Record<string, OrtTensor>> {
    const noiseScale = options.noiseScale ?? LTX_DECODE_NOISE_SCALE;
    return this.first.run({
      [VAE_IO.latents]: tensor('float32', latents.data, dims),
      [VAE_IO.noise]: tensor('float32', noise.data, dims),
      [VAE_IO.noiseScale]: tensor('float32', Float32Array.of(noiseScale), [1]),
      [VAE_IO.streamFrames]: int64(call.tailFrames),
      [VAE_IO.last]: int64(call.last ? 1 : 0),
      ...this.timestepFeed(options),
    });
  }

  private timestepFeed(options: DecodeOptions): Record<string, OrtTensor> {
    const timestep = options.timestep ?? LTX_DECODE_TIMESTEP;
    const features = vaeTimestepFeatures(timestep, this.timestepScaleMultiplier);
    return { [VAE_IO.timestepFeatures]: tensor('float32', features, [1, features.length]) };
  }

  /** Decodes the whole video and returns it in one piece. */
  async decode(
    latents: LatentVideo,
    noise: LatentVideo,
    options: DecodeOptions = {},
  ): Promise<DecodedVideo> {
    const batches: FrameBatch[] = [];
    for await (const batch of this.decodeFrames(latents, noise, options)) batches.push(batch);
    const head = batches[0];
    if (head === undefined) throw new VaeDecodeError('The VAE decoder produced nothing');
    const count = batches.reduce((sum, batch) => sum + batch.count, 0);
    const frames = new Uint8Array(count * head.height * head.width * 3);
    let offset = 0;
    for (const batch of batches) {
      frames.set(batch.frames, offset);
      offset += batch.frames.length;
    }
    const decoded = joinFloat(batches, 'decoded', count);
    const video = joinFloat(batches, 'video', count);
    return {
      frames,
      count,
      height: head.height,
      width: head.width,
      ...(decoded === undefined ? {} : { decoded }),
      ...(video === undefined ? {} : { video }),
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.first.release(), this.next.release()]);
  }
}

type Dims5 = [number, number, number, number, number];

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

function checkLatents(latents: LatentVideo, noise: LatentVideo): Dims5 {
  const dims = [...latents.shape];
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (dims.length !== 5 || dims[0] !== 1 || latents.data.length !== count) {
    throw new VaeDecodeError(
      `Latents must be [1, channels, frames, height, width] with matching data; got [${dims.join(', ')}] and ${latents.data.length} values`,
    );
  }
  if (
    noise.shape.length !== 5 ||
    noise.shape.some((dim, i) => dim !== dims[i]) ||
    noise.data.length !== count
  ) {
    throw new VaeDecodeError(
      `Decode noise [${noise.shape.join(', ')}] does not match the latents [${dims.join(', ')}]`,
    );
  }
  return dims as Dims5;
}

/** The `state_out.*` outputs of a call, by name. */
function stateOf(outputs: Readonly<Record<string, OrtTensor>>): Map<string, OrtTensor> {
  return new Map(Object.entries(outputs).filter(([name]) => name.startsWith(VAE_IO.stateOut)));
}

function frameBatch(
  outputs: Record<string, OrtTensor>,
  start: number,
  call: StreamCall,
): FrameBatch {
  const frames = outputs[VAE_IO.frames];
  if (frames === undefined) throw new VaeDecodeError('The VAE decoder gave no frames');
  const [count = 0, height = 0, width = 0] = frames.dims;
  if (count !== call.outputFrames) {
    throw new VaeDecodeError(
      `A decoder call gave ${count} frames; ${call.outputFrames} were planned`,
    );
  }
  const decoded = outputs[VAE_IO.decoded]?.data;
  const video = outputs[VAE_IO.video]?.data;
  return {
    frames: frames.data as Uint8Array,
    count,
    start,
    height,
    width,
    ...(decoded instanceof Float32Array ? { decoded } : {}),
    ...(video instanceof Float32Array ? { video } : {}),
  };
}

/** Frames [offset, offset + count) of a [1, C, T, H, W] tensor. */
function sliceFrames(value: OrtTensor, offset: number, count: number, dtype: VaeDtype): OrtTensor {
  const [batch = 1, channels = 0, frames = 0, height = 0, width = 0] = value.dims;
  if (offset + count > frames) {
    throw new VaeDecodeError(`Frames ${offset}…${offset + count} asked of ${frames} pending`);
  }
  const plane = height * width;
  const source = value.data as Float32Array | Uint16Array;
  const out =
    dtype === 'float32'
      ? new Float32Array(batch * channels * count * plane)
      : new Uint16Array(batch * channels * count * plane);
  for (let c = 0; c < batch * channels; c++) {
    const from = (c * frames + offset) * plane;
    out.set(source.subarray(from, from + count * plane), c * count * plane);
  }
  const dims = [batch, channels, count, height, width];
  return out instanceof Float32Array ? tensor('float32', out, dims) : tensor('float16', out, dims);
}

/** Concatenates batches' [1, 3, n, H, W] float outputs along frames. */
function joinFloat(
  batches: readonly FrameBatch[],
  key: 'decoded' | 'video',
  count: number,
): Float32Array | undefined {
  if (batches.some((batch) => batch[key] === undefined)) return undefined;
  const head = batches[0];
  if (head === undefined) return undefined;
  const plane = head.height * head.width;
  const channels = 3;
  const out = new Float32Array(channels * count * plane);
  for (const batch of batches) {
    const data = batch[key] as Float32Array;
    for (let c = 0; c < channels; c++) {
      out.set(
        data.subarray(c * batch.count * plane, (c + 1) * batch.count * plane),
        (c * count + batch.start) * plane,
      );
    }
  }
  return out;
}

function int64(value: number): OrtTensor {
  return tensor('int64', BigInt64Array.of(BigInt(value)), [1]);
}
