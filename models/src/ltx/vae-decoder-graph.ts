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
 * Frames come out as 8-bit RGB (vae-decoder-output.ts); the graphs' input and output names
 * are in vae-decoder-io.ts, their conversion and manifest in vae-decoder-convert.ts.
 *
 * Operators are plain ONNX opset 21 (Conv with 3-D kernels, Pad in edge mode, Reshape and a
 * rank-7 Transpose for the 3-D depth-to-space, ReduceMean, Gemm, elementwise), all in ONNX
 * Runtime's CUDA kernel table at these versions; on WebGPU the 3-D Conv is the one to check.
 * With float16 weights the convolutions run in float16 but each PixelNorm, modulation and SiLU
 * runs in float32 (the mean of squares overflows float16 once activations pass 256), as do the
 * timestep embedders and the post-processing.
 */
import { attr, GraphBuilder } from '../onnx/graph-builder.ts';
import { padAxis } from '../onnx/pad.ts';
import { ONNX_DATA_TYPE } from '../onnx/proto.ts';
import { decoderWidths, type VaeConfig, type VaeDecoderBlock } from './vae-config.ts';
import {
  adaRow,
  adaValues,
  SINUSOID_CHANNELS,
  timeEmbedding,
  type Float32Weight,
} from './vae-decoder-conditioning.ts';
import { VAE_IO } from './vae-decoder-io.ts';
import { decoderOutputs } from './vae-decoder-output.ts';
import { depthToSpace, FRAMES_AXIS, pixelNorm, silu, sliceFrames } from './vae-layers.ts';
import { tailStartBlock, vaeStreamLayout, type VaeStreamLayout } from './vae-stream.ts';
import { declareVaeWeight, type VaeDtype, type VaeWeights } from './vae-weights.ts';

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

/** "To the end" for Slice. */
const END = 2 ** 62;
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
    const chunk = sliceFrames(g, x, 0, streamFrames);
    g.output(sliceFrames(g, x, streamFrames, END), VAE_IO.pending, this.act);
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
    const ada = adaValues(
      g,
      this.float32Weight,
      'decoder.last_scale_shift_table',
      this.timeEmbedding('decoder.last_time_embedder', 2 * width),
      2,
      width,
    );
    const onePlusScale = g.op('Add', [g.scalar(1), adaRow(g, ada, 1, width)]);
    const y = g.op('Add', [g.op('Mul', [normed, onePlusScale]), adaRow(g, ada, 0, width)]);
    const outChannels = config.outChannels * config.patchSize ** 2;
    const out = this.conv(this.toAct(silu(g, y)), 'decoder.conv_out.conv', width, outChannels).out;
    decoderOutputs(g, this.toFloat(out), config, this.options.floatOutputs === true);
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
    const ada = adaValues(g, this.float32Weight, `${key}.scale_shift_table`, temb, 4, width);
    const modulation = (row: number): Modulation => ({
      shift: adaRow(g, ada, row, width),
      onePlusScale: g.op('Add', [g.scalar(1), adaRow(g, ada, row + 1, width)]),
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
      residual = sliceFrames(g, owed, 0, produced);
      this.stateOutput(`${key}.residual`, sliceFrames(g, owed, -2, END));
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
    const centre = this.mode === 'full' ? x : sliceFrames(g, padded, 1, -1);
    const dropFirst = block.stride[0] === 2 && this.mode !== 'next';
    const trim = (value: string): string => (dropFirst ? sliceFrames(g, value, 1, END) : value);
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
      this.stateOutput(key, sliceFrames(g, padded, -2, END));
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

  /** The embedding of the decode timestep by the embedder `key` (float32 [1, dim]). */
  private timeEmbedding(key: string, dim: number): string {
    return timeEmbedding(this.g, this.float32Weight, this.sinusoid, key, dim);
  }

  private readonly float32Weight: Float32Weight = (key, shape) =>
    this.weight(key, shape, 'float32');

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
    const { name, bytes } = declareVaeWeight(this.g, this.weights, key, shape, dtype);
    this.weightBytes += bytes;
    return name;
  }
}
