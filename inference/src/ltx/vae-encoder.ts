/**
 * Runs LTX-Video's VAE encoder (graph from @zeus/models' vae-encoder-graph.ts): a video (or one
 * image as a one-frame video) in [−1, 1] to normalised latents, as the official `vae_encode`
 * with `vae_per_channel_normalize=True` computes them.
 *
 *   const encoder = await VaeEncoder.load(converted.dir, { device: 'auto' });
 *   const { latents, shape } = await encoder.encode(video, noise);  // noise: the posterior draw
 */
import { join } from 'node:path';
import {
  readVaeEncoderManifest,
  VAE_ENCODER_IO,
  type VaeEncoderConfig,
  type VaeEncoderManifest,
} from '@zeus/models';
import {
  ModelSession,
  tensor,
  tensorFloat32,
  type Device,
  type ExecutionProvider,
} from '../onnx/runtime.ts';

/** A video [1, 3, frames, height, width], values in [−1, 1]. */
export interface PixelVideo {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export interface EncodedLatents {
  /** Normalised latents [1, C, f, h, w]. */
  readonly latents: Float32Array;
  /** The posterior's mean before normalisation, same shape. */
  readonly mean: Float32Array;
  /** Its log-variance (one channel for `latent_log_var` "uniform"). */
  readonly logvar: Float32Array;
  readonly shape: readonly [number, number, number, number, number];
  /** Every `debug.*` output of a debug build. */
  readonly outputs: Readonly<Record<string, Float32Array>>;
}

export class VaeEncodeError extends Error {
  override readonly name = 'VaeEncodeError';
}

export class VaeEncoder {
  private constructor(
    private readonly session: ModelSession,
    readonly config: VaeEncoderConfig,
  ) {}

  /** Loads a converted encoder folder (see convertVaeEncoder) or an explicit model. */
  static async load(
    source: string | { readonly model: string | Uint8Array; readonly config: VaeEncoderConfig },
    options: { readonly device: Device; readonly intraOpThreads?: number },
  ): Promise<VaeEncoder> {
    let model: string | Uint8Array;
    let config: VaeEncoderConfig;
    if (typeof source === 'string') {
      const manifest: VaeEncoderManifest = await readVaeEncoderManifest(source);
      model = join(source, manifest.model);
      config = manifest.config;
    } else {
      ({ model, config } = source);
    }
    const session = await ModelSession.load(model, {
      device: options.device,
      name: 'VAE encoder',
      ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    });
    return new VaeEncoder(session, config);
  }

  get provider(): ExecutionProvider {
    return this.session.provider;
  }

  /** The latent shape [1, C, f, h, w] of a video shape [1, 3, F, H, W]. */
  latentShape(videoShape: readonly number[]): [number, number, number, number, number] {
    const [batch, channels, frames = 0, height = 0, width = 0] = videoShape;
    const { spatialScaleFactor: spatial, temporalScaleFactor: temporal } = this.config;
    if (
      videoShape.length !== 5 ||
      batch !== 1 ||
      channels !== this.config.inChannels ||
      frames < 1 ||
      (frames - 1) % temporal !== 0 ||
      height < spatial ||
      height % spatial !== 0 ||
      width < spatial ||
      width % spatial !== 0
    ) {
      throw new VaeEncodeError(
        `The encoder takes [1, ${this.config.inChannels}, ${temporal}k + 1, ${spatial}·h, ` +
          `${spatial}·w], got [${videoShape.join(', ')}]`,
      );
    }
    return [
      1,
      this.config.latentChannels,
      (frames - 1) / temporal + 1,
      height / spatial,
      width / spatial,
    ];
  }

  /**
   * Encodes `video`; `noise` (standard normal, the latents' size) is the posterior draw of the
   * official `latent_dist.sample()`; leave it out for the posterior's mean.
   */
  async encode(video: PixelVideo, noise?: Float32Array): Promise<EncodedLatents> {
    const shape = this.latentShape(video.shape);
    const count = shape.reduce((product, dim) => product * dim, 1);
    if (video.data.length !== video.shape.reduce((product, dim) => product * dim, 1)) {
      throw new VaeEncodeError(`The video has ${video.data.length} values for its shape`);
    }
    if (noise !== undefined && noise.length !== count) {
      throw new VaeEncodeError(`The noise has ${noise.length} values, expected ${count}`);
    }
    const outputs = await this.session.run({
      [VAE_ENCODER_IO.video]: tensor('float32', video.data, video.shape),
      [VAE_ENCODER_IO.noise]: tensor('float32', noise ?? new Float32Array(count), shape),
    });
    const read = (name: string): Float32Array => {
      const value = outputs[name];
      if (value === undefined) throw new VaeEncodeError(`The encoder gave no ${name}`);
      return tensorFloat32(value);
    };
    const debug: Record<string, Float32Array> = {};
    for (const name of Object.keys(outputs)) {
      if (name.startsWith('debug.')) debug[name] = read(name);
    }
    return {
      latents: read(VAE_ENCODER_IO.latents),
      mean: read(VAE_ENCODER_IO.mean),
      logvar: read(VAE_ENCODER_IO.logvar),
      shape,
      outputs: debug,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
