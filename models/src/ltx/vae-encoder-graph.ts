/**
 * LTX-Video's causal video VAE encoder (the 0.9.5 / 0.9.6 VAE's `vae.encoder.*`) as an ONNX
 * graph, written from the official `Encoder` (ltx_video/models/autoencoders/
 * causal_video_autoencoder.py) and `vae_encode`:
 *
 *   video [1, 3, F, H, W] in [−1, 1]
 *   → 4×4 patchify (channel 16c + 4r + q holds pixel (4y + q, 4x + r), as the decoder's
 *     unpatchify reads it) → conv_in
 *   → the config's encoder blocks: res_x groups (PixelNorm, SiLU, conv, twice, plus the input),
 *     compress_*_res (a causal convolution and the input, each rearranged space-to-depth; the
 *     input's channels averaged in groups; a time stride duplicates the first frame first) or
 *     plain strided causal convolutions
 *   → PixelNorm, SiLU, conv_out → the posterior's mean and log-variance (`latent_log_var`
 *     "uniform": one extra channel shared by every latent channel)
 *   → latents = ((mean + exp(½·clamp(logvar, −30, 20))·noise) − mean-of-means) / std-of-means,
 *     the official `latent_dist.sample()` followed by the per-channel normalisation; with zero
 *     noise it is the normalised mean.
 *
 * Every convolution is causal: time is padded with two copies of the first frame in front,
 * space with zeros (spatial_padding_mode "zeros"). F must be 8k + 1 and H, W multiples of 32
 * (the VAE's factors); the output has (F − 1)/8 + 1 latent frames.
 *
 * With float16 weights the convolutions run in float16, every PixelNorm, SiLU and the
 * posterior in float32 (like the decoder graph).
 */
import { attr, GraphBuilder } from '../onnx/graph-builder.ts';
import { padAxis } from '../onnx/pad.ts';
import { ONNX_DATA_TYPE } from '../onnx/proto.ts';
import type { VaeEncoderBlock, VaeEncoderConfig } from './vae-config.ts';
import { FRAMES_AXIS, pixelNorm, silu, sliceFrames, spaceToDepth } from './vae-layers.ts';
import { declareVaeWeight, VaeModelError, type VaeDtype, type VaeWeights } from './vae-weights.ts';

/** Graph input and output names shared with the runtime. */
export const VAE_ENCODER_IO = {
  video: 'video',
  /** Standard normal draws of the latents' shape; zeros give the posterior's mean. */
  noise: 'noise',
  /** The posterior's mean, before normalisation [1, C, f, h, w]. */
  mean: 'mean',
  /** Its log-variance [1, 1 or C, f, h, w], before clamping. */
  logvar: 'logvar',
  /** The normalised latents, as the transformer sees them. */
  latents: 'latents',
} as const;

export interface VaeEncoderGraphOptions {
  readonly dtype: VaeDtype;
  /** Adds float32 outputs `debug.*` (each block's output) for comparisons. */
  readonly debugOutputs?: boolean;
}

/** DiagonalGaussianDistribution clamps the log-variance to this range. */
const LOGVAR_MIN = -30;
const LOGVAR_MAX = 20;

/** Builds the encoder graph for `config` over `weights` (read when the graph is saved). */
export function buildVaeEncoderGraph(
  config: VaeEncoderConfig,
  weights: VaeWeights,
  options: VaeEncoderGraphOptions,
): { readonly graph: GraphBuilder; readonly weightBytes: number } {
  const writer = new EncoderGraph(config, weights, options);
  return { graph: writer.g, weightBytes: writer.weightBytes };
}

class EncoderGraph {
  readonly g = new GraphBuilder({ name: 'ltx_vae_encoder' });
  weightBytes = 0;
  private readonly act: VaeDtype;

  constructor(
    private readonly config: VaeEncoderConfig,
    private readonly weights: VaeWeights,
    private readonly options: VaeEncoderGraphOptions,
  ) {
    this.act = options.dtype;
    this.build();
  }

  private build(): void {
    const { g, config } = this;
    const video = g.input(VAE_ENCODER_IO.video, 'float32', [
      1,
      config.inChannels,
      'frames',
      'height',
      'width',
    ]);
    const latentDims = [1, config.latentChannels, 'latent_frames', 'latent_height', 'latent_width'];
    const noise = g.input(VAE_ENCODER_IO.noise, 'float32', latentDims);
    g.setMetadata('zeus.ltx.vae_encoder', JSON.stringify({ dtype: this.act, config }));

    const p = config.patchSize;
    let width = config.baseChannels;
    let x = this.toAct(this.patchify(video, config.inChannels, p));
    this.debug('patchify_out', x);
    x = this.causalConv(x, 'encoder.conv_in.conv', config.inChannels * p * p, width, [1, 1, 1]);
    this.debug('conv_in_out', x);
    for (const [index, block] of config.blocks.entries()) {
      const key = `encoder.down_blocks.${index}`;
      ({ x, width } = g.scope(`down_blocks.${index}`, () => this.block(x, key, block, width)));
      this.debug(`down_block_${index}_out`, x);
    }
    const normed = silu(g, pixelNorm(g, this.toFloat(x)));
    const momentChannels = this.momentChannels();
    const moments = this.toFloat(
      this.causalConv(
        this.toAct(normed),
        'encoder.conv_out.conv',
        width,
        momentChannels,
        [1, 1, 1],
      ),
    );
    this.debug('conv_out_out', moments);

    const channels = config.latentChannels;
    const channelSlice = (start: number, end: number): string =>
      g.op('Slice', [moments, g.ints([start]), g.ints([end]), g.ints([1])]);
    const mean = channelSlice(0, channels);
    let logvar: string;
    switch (config.latentLogVar) {
      case 'uniform':
        logvar = channelSlice(channels, channels + 1);
        break;
      case 'per_channel':
        logvar = channelSlice(channels, 2 * channels);
        break;
      case 'constant':
        // The official encoder drops its extra channel and uses −30 ("approx ln 0").
        logvar = g.op('Add', [
          g.op('Mul', [channelSlice(0, 1), g.scalar(0)]),
          g.scalar(LOGVAR_MIN),
        ]);
        break;
    }
    g.output(mean, VAE_ENCODER_IO.mean, 'float32', latentDims);
    g.output(logvar, VAE_ENCODER_IO.logvar, 'float32');

    // DiagonalGaussianDistribution: std = exp(0.5·clamp(logvar)); sample = mean + std·ε.
    const clamped = g.op('Clip', [logvar, g.scalar(LOGVAR_MIN), g.scalar(LOGVAR_MAX)]);
    const std = g.op('Exp', [g.op('Mul', [g.scalar(0.5), clamped])]);
    const sample = g.op('Add', [mean, g.op('Mul', [std, noise])]);
    // normalize_latents: (z − mean-of-means) / std-of-means per channel.
    const channelShape = [1, channels, 1, 1, 1];
    const stdOfMeans = this.weight('per_channel_statistics.std-of-means', [channels], 'float32');
    const meanOfMeans = this.weights.shape('per_channel_statistics.mean-of-means', [channels])
      ? this.weight('per_channel_statistics.mean-of-means', [channels], 'float32')
      : g.constant('float32', [channels], new Array<number>(channels).fill(0));
    const latents = g.op('Div', [
      g.op('Sub', [sample, this.reshape(meanOfMeans, channelShape)]),
      this.reshape(stdOfMeans, channelShape),
    ]);
    g.output(latents, VAE_ENCODER_IO.latents, 'float32', latentDims);
  }

  private momentChannels(): number {
    const channels = this.config.latentChannels;
    switch (this.config.latentLogVar) {
      case 'per_channel':
        return 2 * channels;
      case 'uniform':
      case 'constant':
        return channels + 1;
    }
  }

  private block(
    x: string,
    key: string,
    block: VaeEncoderBlock,
    width: number,
  ): { x: string; width: number } {
    switch (block.kind) {
      case 'res_x': {
        let y = x;
        for (let j = 0; j < block.numLayers; j++) {
          y = this.g.scope(`res_blocks.${j}`, () =>
            this.resBlock(y, `${key}.res_blocks.${j}`, width),
          );
        }
        return { x: y, width };
      }
      case 'space_to_depth':
        return this.spaceToDepthBlock(x, key, block, width);
      case 'strided_conv':
        return { x: this.causalConv(x, `${key}.conv`, width, width, block.stride), width };
    }
  }

  /** x + conv2(SiLU(PixelNorm(conv1(SiLU(PixelNorm(x)))))) (no timestep, no noise). */
  private resBlock(x: string, key: string, width: number): string {
    const h1 = this.causalConv(this.preActivation(x), `${key}.conv1.conv`, width, width, [1, 1, 1]);
    const h2 = this.causalConv(
      this.preActivation(h1),
      `${key}.conv2.conv`,
      width,
      width,
      [1, 1, 1],
    );
    return this.g.op('Add', [x, h2]);
  }

  /** SpaceToDepthDownsample: conv(x) and x, each space-to-depth, x's channels group-averaged. */
  private spaceToDepthBlock(
    input: string,
    key: string,
    block: Extract<VaeEncoderBlock, { kind: 'space_to_depth' }>,
    width: number,
  ): { x: string; width: number } {
    const { g } = this;
    const volume = block.stride[0] * block.stride[1] * block.stride[2];
    const outWidth = width * block.multiplier;
    const groupSize = volume / block.multiplier;
    if (!Number.isInteger(groupSize) || outWidth % volume !== 0) {
      throw new VaeModelError(
        `${block.name} of width ${width} (multiplier ${block.multiplier}) cannot rearrange ` +
          `into ${volume} parts`,
      );
    }
    let x = input;
    if (block.stride[0] === 2) {
      // "duplicate first frames for padding"
      x = g.op('Concat', [sliceFrames(g, x, 0, 1), x], { axis: attr.i(FRAMES_AXIS) });
    }
    const rearranged = spaceToDepth(g, x, width, block.stride);
    const grouped = g.op('Reshape', [
      rearranged,
      g.op(
        'Concat',
        [g.ints([1, outWidth, groupSize]), g.op('Shape', [rearranged], { start: attr.i(2) })],
        { axis: attr.i(0) },
      ),
    ]);
    // The mean runs in float32 (a sum of up to 8 float16 values is exact enough, but cheap).
    const skip = this.toAct(
      g.op('ReduceMean', [this.toFloat(grouped), g.ints([2])], { keepdims: attr.i(0) }),
    );
    const conv = this.causalConv(x, `${key}.conv.conv`, width, outWidth / volume, [1, 1, 1]);
    const main = spaceToDepth(g, conv, outWidth / volume, block.stride);
    return { x: g.op('Add', [main, skip]), width: outWidth };
  }

  /** CausalConv3d (kernel 3): two copies of the first frame in front, zeros around in space. */
  private causalConv(
    x: string,
    key: string,
    inChannels: number,
    outChannels: number,
    stride: readonly [number, number, number],
  ): string {
    const { g } = this;
    const weight = this.weight(`${key}.weight`, [outChannels, inChannels, 3, 3, 3], this.act);
    const bias = this.weight(`${key}.bias`, [outChannels], this.act);
    const padded = padAxis(g, x, { rank: 5, axis: FRAMES_AXIS, before: 2, after: 0, mode: 'edge' });
    return g.op('Conv', [padded, weight, bias], {
      kernel_shape: attr.ints([3, 3, 3]),
      pads: attr.ints([0, 1, 1, 0, 1, 1]),
      strides: attr.ints([...stride]),
    });
  }

  private preActivation(x: string): string {
    return this.toAct(silu(this.g, pixelNorm(this.g, this.toFloat(x))));
  }

  /** [1, c, F, p·H, p·W] → [1, c·p², F, H, W], channel 16c + 4r + q ← pixel (p·y + q, p·x + r). */
  private patchify(x: string, channels: number, p: number): string {
    const { g } = this;
    if (p === 1) return x;
    const grid = g.op('Div', [g.op('Shape', [x], { start: attr.i(2) }), g.ints([1, p, p])]);
    const dim = (axis: number): string => g.op('Slice', [grid, g.ints([axis]), g.ints([axis + 1])]);
    const split = g.op('Reshape', [
      x,
      g.op('Concat', [g.ints([channels]), dim(0), dim(1), g.ints([p]), dim(2), g.ints([p])], {
        axis: attr.i(0),
      }),
    ]);
    // [c, F, H, q, W, r] → [c, r, q, F, H, W]
    const ordered = g.op('Transpose', [split], { perm: attr.ints([0, 5, 3, 1, 2, 4]) });
    return g.op('Reshape', [
      ordered,
      g.op('Concat', [g.ints([1, channels * p * p]), grid], { axis: attr.i(0) }),
    ]);
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
    return this.act === 'float32'
      ? x
      : this.g.op('Cast', [x], { to: attr.i(ONNX_DATA_TYPE.float32) });
  }

  private toAct(x: string): string {
    return this.act === 'float32'
      ? x
      : this.g.op('Cast', [x], { to: attr.i(ONNX_DATA_TYPE[this.act]) });
  }

  /** Declares the weight `key`, checked against the source's shape, read when saved. */
  private weight(key: string, shape: readonly number[], dtype: VaeDtype): string {
    const { name, bytes } = declareVaeWeight(this.g, this.weights, key, shape, dtype);
    this.weightBytes += bytes;
    return name;
  }
}
