/**
 * LTX-Video's causal video VAE decoder (the 0.9.5 / 0.9.6 VAE) as ONNX graphs, from the
 * single-file checkpoint: decode-noise mixing, per-channel un-normalisation, the decoder with
 * its timestep conditioning, the 4×4 unpatchify and the conversion to 8-bit RGB frames, all
 * inside the graph (docs/model/pipeline.md §7, §8).
 *
 * Two graphs, for exact chunked decoding (see vae-stream.ts):
 * - `model.onnx` (the first call): latents + decode noise → the head over the whole video, then
 *   the tail over the first `stream_frames` head frames. With `last` = 1 and all frames it is
 *   the one-pass decoder. Outputs the frames, the head frames not yet decoded (`pending`) and
 *   the tail's carried state (`state_out.*`).
 * - `next.onnx`: the next `chunk` of pending frames + `state_in.*` → frames + `state_out.*`.
 *
 * Frames come out as uint8 [frames, height, width, 3] (RGB24, what ffmpeg's rawvideo rgb24
 * reads), ⌊255·clamp(y/2 + 1/2, 0, 1)⌋ like inference.py (truncation, not rounding).
 *
 * Operators are plain ONNX opset 21 (Conv with 3-D kernels, Pad in edge mode, Reshape and a
 * rank-7 Transpose for the 3-D depth-to-space, ReduceMean, Gemm, elementwise), all in ONNX
 * Runtime's CUDA kernel table at these versions; on WebGPU the 3-D Conv is the one to check.
 * With float16 weights the convolutions run in float16 but each PixelNorm, modulation and SiLU
 * runs in float32 (the mean of squares overflows float16 once activations pass 256), as do the
 * timestep embedders and the post-processing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertCached, type ConversionEvent } from '../convert/cache.ts';
import { attr, GraphBuilder } from '../onnx/graph-builder.ts';
import { padAxis } from '../onnx/pad.ts';
import { ONNX_DATA_TYPE } from '../onnx/proto.ts';
import { elementCount, f32ToF16 } from '../tensor/dtype.ts';
import { tensorFromTyped, type HostTensor } from '../tensor/tensor.ts';
import { LtxCheckpoint, VAE_PREFIX } from './checkpoint.ts';
import {
  decoderWidths,
  parseVaeConfig,
  type VaeConfig,
  type VaeDecoderBlock,
} from './vae-config.ts';
import { timestepFeatures } from './transformer-inputs.ts';
import { tailStartBlock, vaeStreamLayout, type VaeStreamLayout } from './vae-stream.ts';

export type VaeDtype = 'float32' | 'float16';

/** The decoder's weights: a checkpoint's `vae.*` tensors, or random ones for benchmarks. */
export interface VaeWeights {
  /** The shape of tensor `key` (without `vae.`), or undefined when there is none. */
  shape(key: string, expected: readonly number[]): readonly number[] | undefined;
  /** Its values as float32. */
  read(key: string): Promise<Float32Array>;
}

export interface VaeGraphOptions {
  /** Convolution weights and activations; embedders and post-processing stay float32. */
  readonly dtype: VaeDtype;
  /** Adds float32 outputs `decoded` (raw decoder output) and `video` (clamped to [0, 1]). */
  readonly floatOutputs?: boolean;
  /** Adds float32 intermediates `debug.*` to the first graph (for parity checks). */
  readonly debugOutputs?: boolean;
}

export interface VaeDecoderGraphs {
  readonly first: GraphBuilder;
  readonly next: GraphBuilder;
  readonly layout: VaeStreamLayout;
  /** Bytes of weights the second graph writes (for progress totals). */
  readonly nextWeightBytes: number;
}

export class VaeModelError extends Error {
  override readonly name = 'VaeModelError';
}

/** Graph input and output names shared with the runtime. */
export const VAE_IO = {
  latents: 'latents',
  noise: 'noise',
  noiseScale: 'noise_scale',
  /** The decode timestep's sinusoid [1, 256] (`vaeTimestepFeatures`). */
  timestepFeatures: 'timestep_features',
  streamFrames: 'stream_frames',
  last: 'last',
  chunk: 'chunk',
  frames: 'frames',
  pending: 'pending',
  decoded: 'decoded',
  video: 'video',
  stateIn: 'state_in.',
  stateOut: 'state_out.',
} as const;

const FRAMES_AXIS = 2;
/** "To the end" for Slice. */
const END = 2 ** 62;
const PIXEL_NORM_EPS = 1e-8;
const SINUSOID_CHANNELS = 256;
const TO = { float32: ONNX_DATA_TYPE.float32, float16: ONNX_DATA_TYPE.float16 } as const;

/** How a graph section treats time: the whole video, or the first or a later stream call. */
type TemporalMode = 'full' | 'first' | 'next';

interface Modulation {
  /** 1 + scale, float32 [1, c, 1, 1, 1]. */
  readonly onePlusScale: string;
  /** shift, float32 [1, c, 1, 1, 1]. */
  readonly shift: string;
}

/** Builds both decoder graphs for `config` over `weights`. */
export function buildVaeDecoderGraphs(
  config: VaeConfig,
  weights: VaeWeights,
  options: VaeGraphOptions,
): VaeDecoderGraphs {
  const first = new DecoderGraph(config, weights, options, 'first');
  const next = new DecoderGraph(config, weights, options, 'next');
  return {
    first: first.g,
    next: next.g,
    layout: vaeStreamLayout(config),
    nextWeightBytes: next.weightBytes,
  };
}

class DecoderGraph {
  readonly g: GraphBuilder;
  weightBytes = 0;
  private readonly blocks: readonly VaeDecoderBlock[];
  private readonly widths: { readonly input: number[]; readonly output: number };
  private readonly act: VaeDtype;
  private mode: TemporalMode = 'full';
  private last = '';
  private sinusoid = '';
  /** Upsampling of the current resolution over the latent grid (names state dims). */
  private spatialScale = 1;

  constructor(
    private readonly config: VaeConfig,
    private readonly weights: VaeWeights,
    private readonly options: VaeGraphOptions,
    kind: 'first' | 'next',
  ) {
    this.g = new GraphBuilder({
      name: kind === 'first' ? 'ltx_vae_decoder' : 'ltx_vae_decoder_next',
    });
    this.act = options.dtype;
    this.blocks = [...config.decoderBlocks].reverse();
    this.widths = decoderWidths(config);
    if (kind === 'first') this.buildFirst();
    else this.buildNext();
  }

  private buildFirst(): void {
    const { g, config } = this;
    const latentDims = [1, config.latentChannels, 'frames', 'height', 'width'];
    const latents = g.input(VAE_IO.latents, 'float32', latentDims);
    const noise = g.input(VAE_IO.noise, 'float32', latentDims);
    const noiseScale = g.input(VAE_IO.noiseScale, 'float32', [1]);
    this.timeInputs();
    const streamFrames = g.input(VAE_IO.streamFrames, 'int64', [1]);

    // z·(1 − s) + ε·s, then z·std + mean per channel, in the reference's operation order.
    const keep = g.op('Sub', [g.scalar(1), noiseScale]);
    const mixed = g.op('Add', [g.op('Mul', [latents, keep]), g.op('Mul', [noise, noiseScale])]);
    const channelShape = [1, config.latentChannels, 1, 1, 1];
    const std = this.weight(
      'per_channel_statistics.std-of-means',
      [config.latentChannels],
      'float32',
    );
    const mean = this.weights.shape('per_channel_statistics.mean-of-means', [config.latentChannels])
      ? this.weight('per_channel_statistics.mean-of-means', [config.latentChannels], 'float32')
      : g.constant(
          'float32',
          [config.latentChannels],
          new Array<number>(config.latentChannels).fill(0),
        );
    const z = g.op('Add', [
      g.op('Mul', [mixed, this.reshape(std, channelShape)]),
      this.reshape(mean, channelShape),
    ]);
    this.debug('latents_unnormalized', z);

    const width = this.widths.input[0] ?? this.widths.output;
    let x = this.conv(this.toAct(z), 'decoder.conv_in.conv', config.latentChannels, width).out;
    this.debug('conv_in_out', x);
    const start = tailStartBlock(config);
    for (let index = 0; index < start; index++) {
      x = this.block(x, index);
      this.debug(`up_block_${index}_out`, x);
    }
    const chunk = this.sliceFrames(x, 0, streamFrames);
    g.output(this.sliceFrames(x, streamFrames, END), VAE_IO.pending, this.act);
    this.mode = 'first';
    this.tail(chunk, start);
  }

  private buildNext(): void {
    const start = tailStartBlock(this.config);
    const width = this.widths.input[start] ?? this.widths.output;
    this.spatialScale = this.blocks
      .slice(0, start)
      .reduce((product, block) => product * (block.kind === 'upsample' ? block.stride[1] : 1), 1);
    const chunk = this.g.input(VAE_IO.chunk, this.act, [
      1,
      width,
      'chunk_frames',
      ...this.spatialDims(),
    ]);
    this.timeInputs();
    this.mode = 'next';
    this.tail(chunk, start);
  }

  private timeInputs(): void {
    const { g } = this;
    // The sinusoid of the scaled timestep comes in, made on the host (vaeTimestepFeatures):
    // WGSL's sin and cos need only be accurate to 2⁻¹¹ in absolute terms, and on WebGPU the
    // in-graph sinusoid moved the decoder's output by ~1e-3. The scale (a learned scalar, 976
    // in the golden file, not the transformer's 1000) goes to the manifest.
    this.sinusoid = g.input(VAE_IO.timestepFeatures, 'float32', [1, SINUSOID_CHANNELS]);
    this.last = g.input(VAE_IO.last, 'int64', [1]);
  }

  /** Runs blocks `start`… , the output stage and the post-processing in the current mode. */
  private tail(input: string, start: number): void {
    const { g, config } = this;
    let x = input;
    for (let index = start; index < this.blocks.length; index++) {
      x = this.block(x, index);
      if (this.mode === 'first') this.debug(`up_block_${index}_out`, x);
    }
    const width = this.widths.output;
    const normed = pixelNorm(g, this.toFloat(x));
    if (this.mode === 'first') this.debug('conv_norm_out_out', normed);
    // Rows: shift, scale.
    const ada = this.adaValues(
      'decoder.last_scale_shift_table',
      this.timeEmbedding('decoder.last_time_embedder', 2 * width),
      2,
      width,
    );
    const onePlusScale = g.op('Add', [g.scalar(1), this.adaRow(ada, 1, width)]);
    const y = g.op('Add', [g.op('Mul', [normed, onePlusScale]), this.adaRow(ada, 0, width)]);
    const outChannels = config.outChannels * config.patchSize ** 2;
    const out = this.conv(this.toAct(silu(g, y)), 'decoder.conv_out.conv', width, outChannels).out;
    this.postProcess(this.toFloat(out));
  }

  private block(x: string, index: number): string {
    const block = this.blocks[index];
    const width = this.widths.input[index];
    if (block === undefined || width === undefined) throw new Error(`No decoder block ${index}`);
    const key = `decoder.up_blocks.${index}`;
    return this.g.scope(`up_blocks.${index}`, () =>
      block.kind === 'res_x'
        ? this.resGroup(x, key, block.numLayers, width)
        : this.upsample(x, key, block, width),
    );
  }

  private resGroup(input: string, key: string, layers: number, width: number): string {
    // One embedder per group, shared by its blocks.
    const temb = this.timeEmbedding(`${key}.time_embedder`, 4 * width);
    let x = input;
    for (let j = 0; j < layers; j++) {
      x = this.g.scope(`res_blocks.${j}`, () =>
        this.resBlock(x, `${key}.res_blocks.${j}`, width, temb),
      );
    }
    return x;
  }

  private resBlock(x: string, key: string, width: number, temb: string): string {
    const { g } = this;
    // Rows: shift₁, scale₁, shift₂, scale₂.
    const ada = this.adaValues(`${key}.scale_shift_table`, temb, 4, width);
    const modulation = (row: number): Modulation => ({
      shift: this.adaRow(ada, row, width),
      onePlusScale: g.op('Add', [g.scalar(1), this.adaRow(ada, row + 1, width)]),
    });
    const mod1 = modulation(0);
    const mod2 = modulation(2);
    const h1 = this.conv(this.preActivation(x, mod1), `${key}.conv1.conv`, width, width).out;
    const h2 = this.conv(this.preActivation(h1, mod2), `${key}.conv2.conv`, width, width).out;
    let residual = x;
    if (this.mode !== 'full') {
      // The convolutions owe their last frames to the next call; so does the skip path.
      const owed =
        this.mode === 'next'
          ? g.op('Concat', [this.stateInput(`${key}.residual`, width), x], {
              axis: attr.i(FRAMES_AXIS),
            })
          : x;
      const produced = g.op('Shape', [h2], {
        start: attr.i(FRAMES_AXIS),
        end: attr.i(FRAMES_AXIS + 1),
      });
      residual = this.sliceFrames(owed, 0, produced);
      this.stateOutput(`${key}.residual`, this.sliceFrames(owed, -2, END));
    }
    return g.op('Add', [residual, h2]);
  }

  private upsample(
    x: string,
    key: string,
    block: Extract<VaeDecoderBlock, { kind: 'upsample' }>,
    width: number,
  ): string {
    const { g } = this;
    const factor = block.stride[0] * block.stride[1] * block.stride[2];
    const convOut = (factor * width) / block.multiplier;
    const { out, padded } = this.conv(x, `${key}.conv.conv`, width, convOut);
    // In stream calls the skip path takes the frames centred in the convolution's windows.
    const centre = this.mode === 'full' ? x : this.sliceFrames(padded, 1, -1);
    const dropFirst = block.stride[0] === 2 && this.mode !== 'next';
    const trim = (value: string): string => (dropFirst ? this.sliceFrames(value, 1, END) : value);
    let y = trim(depthToSpace(g, out, convOut / factor, block.stride));
    if (block.residual) {
      const skip = depthToSpace(g, centre, width / factor, block.stride);
      const repeats = factor / block.multiplier;
      y = g.op('Add', [y, trim(g.op('Tile', [skip, g.ints([1, repeats, 1, 1, 1])]))]);
    }
    this.spatialScale *= block.stride[1];
    return y;
  }

  /**
   * A 3×3×3 convolution, padded like the official non-causal CausalConv3d: the first and last
   * frames repeated in time (at the true ends of the video only), zeros in space.
   */
  private conv(
    x: string,
    key: string,
    inChannels: number,
    outChannels: number,
  ): { out: string; padded: string } {
    const { g } = this;
    const weight = this.weight(`${key}.weight`, [outChannels, inChannels, 3, 3, 3], this.act);
    const bias = this.weight(`${key}.bias`, [outChannels], this.act);
    const time = { rank: 5, axis: FRAMES_AXIS, mode: 'edge' } as const;
    let padded: string;
    if (this.mode === 'full') {
      padded = padAxis(g, x, { ...time, before: 1, after: 1 });
    } else {
      const own = padAxis(g, x, {
        ...time,
        before: this.mode === 'first' ? 1 : 0,
        after: this.last,
      });
      padded =
        this.mode === 'first'
          ? own
          : g.op('Concat', [this.stateInput(key, inChannels), own], { axis: attr.i(FRAMES_AXIS) });
      this.stateOutput(key, this.sliceFrames(padded, -2, END));
    }
    // Space is zero-padded (spatial_padding_mode "zeros"), which Conv does itself.
    const out = g.op('Conv', [padded, weight, bias], {
      kernel_shape: attr.ints([3, 3, 3]),
      pads: attr.ints([0, 1, 1, 0, 1, 1]),
    });
    return { out, padded };
  }

  /** SiLU(PixelNorm(x)·(1 + scale) + shift), in float32, back in the activation type. */
  private preActivation(x: string, modulation: Modulation): string {
    const { g } = this;
    const normed = pixelNorm(g, this.toFloat(x));
    const y = g.op('Add', [g.op('Mul', [normed, modulation.onePlusScale]), modulation.shift]);
    return this.toAct(silu(g, y));
  }

  /** TE(τ) = linear_2(SiLU(linear_1(sinusoid(τ)))), float32 [1, dim]. */
  private timeEmbedding(key: string, dim: number): string {
    const { g } = this;
    const prefix = `${key}.timestep_embedder`;
    const linear = (input: string, name: string, inDim: number): string =>
      g.op(
        'Gemm',
        [
          input,
          this.weight(`${prefix}.${name}.weight`, [dim, inDim], 'float32'),
          this.weight(`${prefix}.${name}.bias`, [dim], 'float32'),
        ],
        { transB: attr.i(1) },
      );
    return linear(silu(g, linear(this.sinusoid, 'linear_1', SINUSOID_CHANNELS)), 'linear_2', dim);
  }

  /** `table` [rows, width] + `temb` viewed as [rows, width] (float32). */
  private adaValues(tableKey: string, temb: string, rows: number, width: number): string {
    const table = this.weight(tableKey, [rows, width], 'float32');
    return this.g.op('Add', [table, this.reshape(temb, [rows, width])]);
  }

  /** Row `row` of adaValues as a per-channel [1, width, 1, 1, 1] vector. */
  private adaRow(values: string, row: number, width: number): string {
    const picked = this.g.op('Gather', [values, this.g.ints([row])], { axis: attr.i(0) });
    return this.reshape(picked, [1, width, 1, 1, 1]);
  }

  private postProcess(y: string): void {
    const { g, config } = this;
    const video = g.op('Clip', [
      g.op('Add', [g.op('Mul', [y, g.scalar(0.5)]), g.scalar(0.5)]),
      g.scalar(0),
      g.scalar(1),
    ]);
    const bytes = g.op('Cast', [g.op('Floor', [g.op('Mul', [video, g.scalar(255)])])], {
      to: attr.i(ONNX_DATA_TYPE.uint8),
    });
    const p = config.patchSize;
    const c = config.outChannels;
    // Channel 16c + 4r + q holds pixel (4y + q, 4x + r): width offset r is the slower index.
    const grid = g.op('Shape', [y], { start: attr.i(FRAMES_AXIS) });
    const split = (value: string, lead: readonly number[]): string =>
      g.op('Reshape', [
        value,
        g.op('Concat', [g.ints([...lead, c, p, p]), grid], { axis: attr.i(0) }),
      ]);
    const scaled = g.op('Mul', [g.op('Slice', [grid, g.ints([1]), g.ints([3])]), g.ints([p, p])]);
    const frames = g.op('Reshape', [
      g.op('Transpose', [split(bytes, [])], { perm: attr.ints([3, 4, 2, 5, 1, 0]) }),
      g.op('Concat', [g.op('Slice', [grid, g.ints([0]), g.ints([1])]), scaled, g.ints([c])], {
        axis: attr.i(0),
      }),
    ]);
    g.output(frames, VAE_IO.frames, 'uint8', ['out_frames', 'out_height', 'out_width', c]);
    if (this.options.floatOutputs === true) {
      const videoShape = g.op(
        'Concat',
        [g.ints([1, c]), g.op('Slice', [grid, g.ints([0]), g.ints([1])]), scaled],
        { axis: attr.i(0) },
      );
      const unpatchify = (value: string): string =>
        g.op('Reshape', [
          g.op('Transpose', [split(value, [1])], { perm: attr.ints([0, 1, 4, 5, 3, 6, 2]) }),
          videoShape,
        ]);
      const dims = [1, c, 'out_frames', 'out_height', 'out_width'];
      g.output(unpatchify(y), VAE_IO.decoded, 'float32', dims);
      g.output(unpatchify(video), VAE_IO.video, 'float32', dims);
    }
  }

  private stateInput(key: string, channels: number): string {
    return this.g.input(`${VAE_IO.stateIn}${key}`, this.act, [
      1,
      channels,
      2,
      ...this.spatialDims(),
    ]);
  }

  private spatialDims(): [string, string] {
    return [`height_x${this.spatialScale}`, `width_x${this.spatialScale}`];
  }

  private stateOutput(key: string, value: string): void {
    this.g.output(value, `${VAE_IO.stateOut}${key}`, this.act);
  }

  private debug(name: string, value: string): void {
    if (this.options.debugOutputs === true) {
      this.g.output(this.toFloat(value), `debug.${name}`, 'float32');
    }
  }

  private sliceFrames(x: string, start: number | string, end: number | string): string {
    const { g } = this;
    const bound = (value: number | string): string =>
      typeof value === 'number' ? g.ints([value]) : value;
    return g.op('Slice', [x, bound(start), bound(end), g.ints([FRAMES_AXIS])]);
  }

  private reshape(x: string, shape: readonly number[]): string {
    return this.g.op('Reshape', [x, this.g.ints(shape)]);
  }

  private toFloat(x: string): string {
    return this.act === 'float32' ? x : this.g.op('Cast', [x], { to: attr.i(TO.float32) });
  }

  private toAct(x: string): string {
    return this.act === 'float32' ? x : this.g.op('Cast', [x], { to: attr.i(TO[this.act]) });
  }

  /** Declares the weight `key`, checked against the source's shape, read when saved. */
  private weight(key: string, shape: readonly number[], dtype: VaeDtype): string {
    const found = this.weights.shape(key, shape);
    if (found === undefined) throw new VaeModelError(`The checkpoint has no tensor vae.${key}`);
    if (found.length !== shape.length || found.some((dim, i) => dim !== shape[i])) {
      throw new VaeModelError(
        `vae.${key} has shape [${found.join(', ')}]; the config implies [${shape.join(', ')}]`,
      );
    }
    this.weightBytes += elementCount(shape) * (dtype === 'float32' ? 4 : 2);
    const weights = this.weights;
    return this.g.initializer(key, dtype, shape, async (): Promise<HostTensor> => {
      const values = await weights.read(key);
      return dtype === 'float32'
        ? tensorFromTyped('float32', shape, values)
        : tensorFromTyped('float16', shape, f32ToF16(values));
    });
  }
}

/**
 * The decoder's timestep input `timestep_features` [1, 256]: [cos | sin] of τ·φ_j with
 * τ = timestep·multiplier and φ_j = exp(−ln(10⁴)·j/128), the exponents, frequencies and angles
 * formed in float32 as the reference does (the transformer's `timestepFeatures`).
 */
export function vaeTimestepFeatures(timestep: number, multiplier: number): Float32Array {
  return timestepFeatures([timestep], multiplier);
}

/** The checkpoint's `decoder.timestep_scale_multiplier`, checked to be one number. */
async function timestepScaleMultiplier(weights: VaeWeights): Promise<number> {
  const key = 'decoder.timestep_scale_multiplier';
  const shape = weights.shape(key, []);
  if (shape === undefined) throw new VaeModelError(`The checkpoint has no tensor vae.${key}`);
  const [value, ...rest] = await weights.read(key);
  if (value === undefined || rest.length > 0 || !Number.isFinite(value)) {
    throw new VaeModelError(`vae.${key} is not one finite number`);
  }
  return value;
}

/** x / √(mean over channels of x² + 1e−8). */
export function pixelNorm(g: GraphBuilder, x: string): string {
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x]), g.ints([1])], {
    keepdims: attr.i(1),
  });
  return g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar(PIXEL_NORM_EPS)])])]);
}

export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/**
 * 3-D depth-to-space (DepthToSpace is 2-D only): [1, k·st·sh·sw, T, H, W] → [1, k, T·st, H·sh,
 * W·sw] with out[i, st·t + a, sh·y + b, sw·x + d] = in[((i·st + a)·sh + b)·sw + d, t, y, x].
 */
function depthToSpace(
  g: GraphBuilder,
  x: string,
  channels: number,
  stride: readonly [number, number, number],
): string {
  const grid = g.op('Shape', [x], { start: attr.i(FRAMES_AXIS) });
  const split = g.op('Reshape', [
    x,
    g.op('Concat', [g.ints([channels, ...stride]), grid], { axis: attr.i(0) }),
  ]);
  const interleaved = g.op('Transpose', [split], { perm: attr.ints([0, 4, 1, 5, 2, 6, 3]) });
  const shape = g.op('Concat', [g.ints([1, channels]), g.op('Mul', [grid, g.ints([...stride])])], {
    axis: attr.i(0),
  });
  return g.op('Reshape', [interleaved, shape]);
}

/** The `vae.*` tensors of an open checkpoint. */
export function checkpointVaeWeights(checkpoint: LtxCheckpoint): VaeWeights {
  return {
    shape: (key) => checkpoint.file.entries.get(`${VAE_PREFIX}${key}`)?.shape,
    read: (key) => checkpoint.readVaeFloat32(key),
  };
}

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

/** What a converted decoder folder holds (`vae-decoder.json`). */
export interface VaeDecoderManifest {
  readonly format: 1;
  readonly dtype: VaeDtype;
  readonly config: VaeConfig;
  readonly layout: VaeStreamLayout;
  /** File names, relative to the folder. */
  readonly firstModel: string;
  readonly nextModel: string;
  readonly floatOutputs: boolean;
  /** `decoder.timestep_scale_multiplier`, for `vaeTimestepFeatures`. */
  readonly timestepScaleMultiplier: number;
}

export const VAE_MANIFEST_FILE = 'vae-decoder.json';
const FIRST_MODEL_FILE = 'model.onnx';
const NEXT_MODEL_FILE = 'next.onnx';
/** Bump when the graphs change for the same checkpoint (the conversion cache keys on it). */
const CONVERTER_VERSION = 3;

export interface BuildVaeOptions extends VaeGraphOptions {
  readonly onProgress?: (bytesWritten: number, bytesTotal: number) => void;
}

/** Writes the decoder graphs built from `weights` into `outDir`, with their manifest. */
export async function writeVaeDecoderOnnx(
  config: VaeConfig,
  weights: VaeWeights,
  outDir: string,
  options: BuildVaeOptions,
): Promise<VaeDecoderManifest> {
  const graphs = buildVaeDecoderGraphs(config, weights, options);
  let firstTotal = 0;
  await graphs.first.save(join(outDir, FIRST_MODEL_FILE), {
    onProgress: (written, total) => {
      firstTotal = total;
      options.onProgress?.(written, total + graphs.nextWeightBytes);
    },
  });
  await graphs.next.save(join(outDir, NEXT_MODEL_FILE), {
    onProgress: (written, total) => options.onProgress?.(firstTotal + written, firstTotal + total),
  });
  const manifest: VaeDecoderManifest = {
    format: 1,
    dtype: options.dtype,
    config,
    layout: graphs.layout,
    firstModel: FIRST_MODEL_FILE,
    nextModel: NEXT_MODEL_FILE,
    floatOutputs: options.floatOutputs === true,
    timestepScaleMultiplier: await timestepScaleMultiplier(weights),
  };
  await writeFile(join(outDir, VAE_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Converts the VAE decoder of a single-file checkpoint into `outDir`. */
export async function buildVaeDecoderOnnx(
  checkpointPath: string,
  outDir: string,
  options: BuildVaeOptions,
): Promise<VaeDecoderManifest> {
  const checkpoint = await LtxCheckpoint.open(checkpointPath);
  try {
    const config = parseVaeConfig(checkpoint.config.vae);
    return await writeVaeDecoderOnnx(config, checkpointVaeWeights(checkpoint), outDir, options);
  } finally {
    await checkpoint.close();
  }
}

/** Reads the manifest of a converted decoder folder. */
export async function readVaeDecoderManifest(dir: string): Promise<VaeDecoderManifest> {
  return readVaeManifest<VaeDecoderManifest>(join(dir, VAE_MANIFEST_FILE));
}

/** Reads a converted VAE part's manifest (decoder or encoder), refusing a format it does not know. */
export async function readVaeManifest<Manifest extends { readonly format: 1 }>(
  path: string,
): Promise<Manifest> {
  const manifest = JSON.parse(await readFile(path, 'utf8')) as { readonly format?: unknown };
  if (manifest.format !== 1) {
    throw new VaeModelError(`${path} has format ${String(manifest.format)}; this Zeus reads 1`);
  }
  return manifest as Manifest;
}

export interface ConvertVaeOptions {
  readonly checkpointPath: string;
  /** The conversion cache folder, e.g. `<model dir>/onnx`. */
  readonly cacheRoot: string;
  readonly dtype: VaeDtype;
  /** Also output the float video (parity checks); cached apart from the plain decoder. */
  readonly floatOutputs?: boolean;
  readonly onProgress?: (event: ConversionEvent) => void;
}

/** The converted decoder for a checkpoint, converting it once (see convert/cache.ts). */
export async function convertVaeDecoder(options: ConvertVaeOptions): Promise<{
  readonly dir: string;
  readonly manifest: VaeDecoderManifest;
  readonly fromCache: boolean;
}> {
  const floatOutputs = options.floatOutputs === true;
  const converted = await convertCached({
    cacheRoot: options.cacheRoot,
    component: floatOutputs ? 'vae-decoder-float' : 'vae-decoder',
    dtype: options.dtype === 'float32' ? 'fp32' : 'fp16',
    converterVersion: CONVERTER_VERSION,
    sources: [options.checkpointPath],
    modelFile: FIRST_MODEL_FILE,
    build: async (dir, onProgress) => {
      await buildVaeDecoderOnnx(options.checkpointPath, dir, {
        dtype: options.dtype,
        floatOutputs,
        onProgress,
      });
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  return {
    dir: converted.dir,
    manifest: await readVaeDecoderManifest(converted.dir),
    fromCache: converted.fromCache,
  };
}
