/**
 * An independent, plain-TypeScript LTX-Video VAE encoder for tests, written line by line from the
 * official sources (ltx_video/models/autoencoders/causal_video_autoencoder.py: `Encoder`,
 * `UNetMidBlock3D`, `ResnetBlock3D`, `SpaceToDepthDownsample`, `patchify`; causal_conv3d.py;
 * pixel_norm.py; vae.py and diffusers' `DiagonalGaussianDistribution`; vae_encode.py's
 * `normalize_latents`) with nested loops and float64 sums. It shares nothing with the ONNX
 * graph builder but the safetensors reader: it reads the raw config JSON itself.
 */
import { LtxCheckpoint } from '@zeus/models';

/** Channels-first activations of one batch entry: [c, t, h, w]. */
interface Volume {
  readonly data: Float64Array;
  readonly c: number;
  readonly t: number;
  readonly h: number;
  readonly w: number;
}

function volume(c: number, t: number, h: number, w: number): Volume {
  return { data: new Float64Array(c * t * h * w), c, t, h, w };
}

function at(v: Volume, c: number, t: number, y: number, x: number): number {
  return v.data[((c * v.t + t) * v.h + y) * v.w + x] ?? 0;
}

/** CausalConv3d(kernel 3, causal=True): x[:, :, :1] repeated twice in front, zeros in space. */
function causalConv(
  x: Volume,
  weight: Float32Array,
  bias: Float32Array,
  outChannels: number,
  stride: readonly [number, number, number] = [1, 1, 1],
): Volume {
  const [st, sh, sw] = stride;
  const paddedT = x.t + 2;
  const outT = Math.floor((paddedT - 3) / st) + 1;
  const outH = Math.floor((x.h + 2 - 3) / sh) + 1;
  const outW = Math.floor((x.w + 2 - 3) / sw) + 1;
  const out = volume(outChannels, outT, outH, outW);
  for (let o = 0; o < outChannels; o++) {
    for (let t = 0; t < outT; t++) {
      for (let y = 0; y < outH; y++) {
        for (let xx = 0; xx < outW; xx++) {
          let sum = bias[o] ?? 0;
          for (let c = 0; c < x.c; c++) {
            for (let kt = 0; kt < 3; kt++) {
              // Padded frame st·t + kt is input frame max(st·t + kt − 2, 0).
              const ti = Math.max(st * t + kt - 2, 0);
              for (let ky = 0; ky < 3; ky++) {
                const yi = sh * y + ky - 1;
                if (yi < 0 || yi >= x.h) continue;
                for (let kx = 0; kx < 3; kx++) {
                  const xi = sw * xx + kx - 1;
                  if (xi < 0 || xi >= x.w) continue;
                  const wv = weight[(((o * x.c + c) * 3 + kt) * 3 + ky) * 3 + kx] ?? 0;
                  sum += wv * at(x, c, ti, yi, xi);
                }
              }
            }
          }
          out.data[((o * outT + t) * outH + y) * outW + xx] = sum;
        }
      }
    }
  }
  return out;
}

/** PixelNorm: x / sqrt(mean over channels of x² + 1e-8). */
function pixelNorm(x: Volume): Volume {
  const out = volume(x.c, x.t, x.h, x.w);
  const plane = x.t * x.h * x.w;
  for (let p = 0; p < plane; p++) {
    let sum = 0;
    for (let c = 0; c < x.c; c++) sum += (x.data[c * plane + p] ?? 0) ** 2;
    const scale = 1 / Math.sqrt(sum / x.c + 1e-8);
    for (let c = 0; c < x.c; c++) out.data[c * plane + p] = (x.data[c * plane + p] ?? 0) * scale;
  }
  return out;
}

function silu(x: Volume): Volume {
  const out = volume(x.c, x.t, x.h, x.w);
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i] ?? 0;
    out.data[i] = v / (1 + Math.exp(-v));
  }
  return out;
}

function add(a: Volume, b: Volume): Volume {
  const out = volume(a.c, a.t, a.h, a.w);
  for (let i = 0; i < a.data.length; i++) out.data[i] = (a.data[i] ?? 0) + (b.data[i] ?? 0);
  return out;
}

/** rearrange "b c (d p1) (h p2) (w p3) -> b (c p1 p2 p3) d h w". */
function spaceToDepth(x: Volume, [p1, p2, p3]: readonly [number, number, number]): Volume {
  const out = volume(x.c * p1 * p2 * p3, x.t / p1, x.h / p2, x.w / p3);
  for (let c = 0; c < x.c; c++) {
    for (let a = 0; a < p1; a++) {
      for (let b = 0; b < p2; b++) {
        for (let e = 0; e < p3; e++) {
          const channel = ((c * p1 + a) * p2 + b) * p3 + e;
          for (let d = 0; d < out.t; d++) {
            for (let y = 0; y < out.h; y++) {
              for (let xx = 0; xx < out.w; xx++) {
                out.data[((channel * out.t + d) * out.h + y) * out.w + xx] = at(
                  x,
                  c,
                  d * p1 + a,
                  y * p2 + b,
                  xx * p3 + e,
                );
              }
            }
          }
        }
      }
    }
  }
  return out;
}

export interface NaiveEncoding {
  readonly mean: Float32Array;
  readonly logvar: Float32Array;
  readonly latents: Float32Array;
  readonly shape: readonly number[];
}

/**
 * Encodes `video` [1, 3, F, H, W] with the checkpoint's encoder; `noise` is the posterior draw
 * (zeros: the mean).
 */
export async function naiveVaeEncode(
  checkpointPath: string,
  video: Float32Array,
  shape: readonly number[],
  noise?: Float32Array,
): Promise<NaiveEncoding> {
  const checkpoint = await LtxCheckpoint.open(checkpointPath);
  try {
    const config = checkpoint.config.vae as {
      readonly patch_size: number;
      readonly latent_channels: number;
      readonly latent_log_var: string;
      readonly encoder_base_channels?: number;
      readonly encoder_blocks: readonly (readonly [string, Record<string, number>])[];
    };
    const read = (name: string): Promise<Float32Array> => checkpoint.readVaeFloat32(name);
    const [, channels = 3, frames = 1, height = 0, width = 0] = shape;
    const p = config.patch_size;
    // patchify: "b c (f p) (h q) (w r) -> b (c p r q) f h w" with p = 1, q = r = patch size.
    let x = volume(channels * p * p, frames, height / p, width / p);
    for (let c = 0; c < channels; c++) {
      for (let r = 0; r < p; r++) {
        for (let q = 0; q < p; q++) {
          for (let f = 0; f < frames; f++) {
            for (let y = 0; y < x.h; y++) {
              for (let xx = 0; xx < x.w; xx++) {
                const source = ((c * frames + f) * height + (y * p + q)) * width + (xx * p + r);
                x.data[((((c * p + r) * p + q) * frames + f) * x.h + y) * x.w + xx] =
                  video[source] ?? 0;
              }
            }
          }
        }
      }
    }
    let width_ = config.encoder_base_channels ?? 128;
    x = causalConv(
      x,
      await read('encoder.conv_in.conv.weight'),
      await read('encoder.conv_in.conv.bias'),
      width_,
    );
    for (const [index, [name, params]] of config.encoder_blocks.entries()) {
      const prefix = `encoder.down_blocks.${index}`;
      if (name === 'res_x') {
        for (let j = 0; j < (params['num_layers'] ?? 1); j++) {
          const block = `${prefix}.res_blocks.${j}`;
          let h = silu(pixelNorm(x));
          h = causalConv(
            h,
            await read(`${block}.conv1.conv.weight`),
            await read(`${block}.conv1.conv.bias`),
            width_,
          );
          h = silu(pixelNorm(h));
          h = causalConv(
            h,
            await read(`${block}.conv2.conv.weight`),
            await read(`${block}.conv2.conv.bias`),
            width_,
          );
          x = add(x, h);
        }
        continue;
      }
      const strides: Record<string, readonly [number, number, number]> = {
        compress_all_res: [2, 2, 2],
        compress_time_res: [2, 1, 1],
        compress_space_res: [1, 2, 2],
      };
      const stride = strides[name];
      if (stride === undefined) throw new Error(`naive encoder: no ${name}`);
      const outWidth = width_ * (params['multiplier'] ?? 2);
      const volumeSize = stride[0] * stride[1] * stride[2];
      if (stride[0] === 2) {
        // torch.cat([x[:, :, :1], x], dim=2)
        const doubled = volume(x.c, x.t + 1, x.h, x.w);
        const plane = x.h * x.w;
        for (let c = 0; c < x.c; c++) {
          for (let t = 0; t < x.t + 1; t++) {
            const from = (c * x.t + Math.max(t - 1, 0)) * plane;
            doubled.data.set(x.data.subarray(from, from + plane), (c * (x.t + 1) + t) * plane);
          }
        }
        x = doubled;
      }
      const rearranged = spaceToDepth(x, stride);
      const groupSize = (width_ * volumeSize) / outWidth;
      const skip = volume(outWidth, rearranged.t, rearranged.h, rearranged.w);
      const plane = rearranged.t * rearranged.h * rearranged.w;
      for (let o = 0; o < outWidth; o++) {
        for (let i = 0; i < plane; i++) {
          let sum = 0;
          for (let k = 0; k < groupSize; k++) {
            sum += rearranged.data[(o * groupSize + k) * plane + i] ?? 0;
          }
          skip.data[o * plane + i] = sum / groupSize;
        }
      }
      const conv = causalConv(
        x,
        await read(`${prefix}.conv.conv.weight`),
        await read(`${prefix}.conv.conv.bias`),
        outWidth / volumeSize,
      );
      x = add(spaceToDepth(conv, stride), skip);
      width_ = outWidth;
    }
    const latentChannels = config.latent_channels;
    const uniform = config.latent_log_var === 'uniform';
    const outChannels = uniform ? latentChannels + 1 : 2 * latentChannels;
    const moments = causalConv(
      silu(pixelNorm(x)),
      await read('encoder.conv_out.conv.weight'),
      await read('encoder.conv_out.conv.bias'),
      outChannels,
    );
    const plane = moments.t * moments.h * moments.w;
    const mean = new Float32Array(latentChannels * plane);
    const logvar = new Float32Array((uniform ? 1 : latentChannels) * plane);
    mean.set(moments.data.subarray(0, latentChannels * plane));
    logvar.set(moments.data.subarray(latentChannels * plane, (latentChannels + 1) * plane));
    if (!uniform) logvar.set(moments.data.subarray(latentChannels * plane));
    const std = await read('per_channel_statistics.std-of-means');
    const meanOfMeans = checkpoint.file.entries.has('vae.per_channel_statistics.mean-of-means')
      ? await read('per_channel_statistics.mean-of-means')
      : new Float32Array(latentChannels);
    const latents = new Float32Array(mean.length);
    for (let c = 0; c < latentChannels; c++) {
      for (let i = 0; i < plane; i++) {
        const lv = Math.min(Math.max(logvar[(uniform ? 0 : c) * plane + i] ?? 0, -30), 20);
        const sample =
          (mean[c * plane + i] ?? 0) + Math.exp(0.5 * lv) * (noise?.[c * plane + i] ?? 0);
        latents[c * plane + i] = (sample - (meanOfMeans[c] ?? 0)) / (std[c] ?? 1);
      }
    }
    return { mean, logvar, latents, shape: [1, latentChannels, moments.t, moments.h, moments.w] };
  } finally {
    await checkpoint.close();
  }
}
