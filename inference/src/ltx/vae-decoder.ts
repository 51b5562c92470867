/**
 * Runs LTX-Video's VAE decoder (graphs from @zeus/models' vae-decoder-graph.ts): the sampler's
 * final latents and the decode noise in, 8-bit RGB frames out, in one pass or streamed in
 * temporal chunks with the same result (see vae-stream.ts), so the caller can hand frames to
 * ffmpeg while the rest of the video is still decoding.
 *
 * onnxruntime-node runs a model on the calling (JavaScript) thread, so a decode call blocks
 * the event loop: to encode while decoding, run the decoder or the ffmpeg feed in a worker
 * thread. Streamed calls at least return to the event loop between chunks. Its inputs and
 * outputs are vae-decode-io.ts; decoding in spatial tiles, vae-tiled-decode.ts.
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
  checkLatents,
  frameBatch,
  int64,
  joinFloat,
  sliceFrames,
  stateOf,
  VaeDecodeError,
  type DecodeOptions,
  type Dims5,
  type FrameBatch,
  type LatentVideo,
} from './vae-decode-io.ts';
import { decodeTiles, type DecodeWhole } from './vae-tiled-decode.ts';
import { planAxis } from './vae-tiles.ts';

/** decode_timestep and decode_noise_scale of configs/ltxv-2b-0.9.6-distilled.yaml. */
export const LTX_DECODE_TIMESTEP = 0.05;
export const LTX_DECODE_NOISE_SCALE = 0.025;

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
        const whole: DecodeWhole = (tileLatents, tileNoise, tileDims, tileOptions) =>
          this.decodeWhole(tileLatents, tileNoise, tileDims, tileOptions);
        yield* decodeTiles(whole, latents, noise, rows, columns, options);
        return;
      }
    }
    yield* this.decodeWhole(latents, noise, dims, options);
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
