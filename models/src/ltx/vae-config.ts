/**
 * The `vae` part of an LTX-Video single-file checkpoint's metadata config: the constructor
 * config of the official `CausalVideoAutoencoder`, parsed and checked against what Zeus'
 * decoder graph implements (the 0.9.5 / 0.9.6 VAE: pixel norm, timestep conditioning,
 * depth-to-space upsamplers, non-causal decoding, zero spatial padding). Anything else is
 * refused with a VaeConfigError naming the key, rather than decoded differently.
 *
 * The checkpoint's metadata is read by checkpoint.ts (`LtxCheckpoint.config.vae`); this module
 * gives that object its meaning. Defaults are those of the official loader, so a file that
 * leaves a key out decodes the way the official code would decode it.
 */
import type { SafetensorsFile } from '../safetensors.ts';

/** A decoder stage, in the config's order (the decoder runs them in reverse). */
export type VaeDecoderBlock =
  | { readonly kind: 'res_x'; readonly numLayers: number }
  | {
      readonly kind: 'upsample';
      /** The config's name: compress_all, compress_time or compress_space. */
      readonly name: 'compress_all' | 'compress_time' | 'compress_space';
      /** Depth-to-space factors (time, height, width). */
      readonly stride: readonly [number, number, number];
      /** Adds the depth-to-space of the input, tiled over channels, to the output. */
      readonly residual: boolean;
      /** Output channels = input channels / multiplier (compress_all only). */
      readonly multiplier: number;
    };

export interface VaeConfig {
  readonly latentChannels: number;
  readonly outChannels: number;
  readonly patchSize: number;
  readonly decoderBaseChannels: number;
  readonly decoderBlocks: readonly VaeDecoderBlock[];
  /** Pixels per latent pixel, from the encoder's block list. */
  readonly spatialScaleFactor: number;
  /** Frames per latent frame (after the first), from the encoder's block list. */
  readonly temporalScaleFactor: number;
}

export class VaeConfigError extends Error {
  override readonly name = 'VaeConfigError';
  constructor(problem: string) {
    super(`Unsupported or invalid VAE config: ${problem}`);
  }
}

/** Parses the `vae` object of the checkpoint's metadata config. */
export function parseVaeConfig(raw: unknown): VaeConfig {
  const config = asObject(raw, 'the vae config');
  const className = config['_class_name'];
  if (className !== undefined && className !== 'CausalVideoAutoencoder') {
    throw new VaeConfigError(
      `_class_name is ${JSON.stringify(className)}, not CausalVideoAutoencoder`,
    );
  }
  const dims = integer(config, 'dims', 3);
  if (dims !== 3)
    throw new VaeConfigError(`dims is ${dims}; only video VAEs (dims 3) are supported`);
  const normLayer = string(config, 'norm_layer', 'group_norm');
  if (normLayer !== 'pixel_norm') {
    throw new VaeConfigError(`norm_layer is "${normLayer}"; only "pixel_norm" is supported`);
  }
  if (boolean(config, 'use_quant_conv', true)) {
    throw new VaeConfigError('use_quant_conv is true; only VAEs without quant convs are supported');
  }
  if (boolean(config, 'causal_decoder', false)) {
    throw new VaeConfigError('causal_decoder is true; only the non-causal decoder is supported');
  }
  if (!boolean(config, 'timestep_conditioning', false)) {
    throw new VaeConfigError(
      'timestep_conditioning is false; only timestep-conditioned decoders (0.9.5 and later) are supported',
    );
  }
  // The official default; the released files leave it out.
  const spatialPaddingMode = string(config, 'spatial_padding_mode', 'zeros');
  if (spatialPaddingMode !== 'zeros') {
    throw new VaeConfigError(
      `spatial_padding_mode is "${spatialPaddingMode}"; only "zeros" is supported`,
    );
  }
  const patchSize = integer(config, 'patch_size', 1);
  const encoderBlocks = blockList(config, 'encoder_blocks');
  const decoderBlocks = blockList(config, 'decoder_blocks').map(parseDecoderBlock);
  const latentChannels = integer(config, 'latent_channels', 4);
  const decoderBaseChannels = integer(config, 'decoder_base_channels', 128);
  checkChannels(decoderBlocks, decoderBaseChannels);
  return {
    latentChannels,
    outChannels: integer(config, 'out_channels', 3),
    patchSize,
    decoderBaseChannels,
    decoderBlocks,
    spatialScaleFactor:
      patchSize * 2 ** encoderBlocks.filter(([name]) => /^compress_(space|all)/.test(name)).length,
    temporalScaleFactor:
      2 ** encoderBlocks.filter(([name]) => /^compress_(time|all)/.test(name)).length,
  };
}

/**
 * Reads the VAE config straight from a safetensors file's `config` metadata (for tools; the
 * converter goes through LtxCheckpoint, which also validates the rest of the config).
 */
export function readVaeConfig(file: SafetensorsFile): VaeConfig {
  const text = file.metadata['config'];
  if (text === undefined) throw new VaeConfigError(`${file.path} has no "config" metadata`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VaeConfigError(`the "config" metadata of ${file.path} is not JSON`);
  }
  const vae = asObject(parsed, 'the checkpoint config')['vae'];
  if (vae === undefined) throw new VaeConfigError(`the config of ${file.path} has no "vae"`);
  return parseVaeConfig(vae);
}

/** An encoder stage, in the config's (and execution) order. */
export type VaeEncoderBlock =
  | { readonly kind: 'res_x'; readonly numLayers: number }
  | {
      /** compress_*_res: space-to-depth of a causal convolution plus the grouped mean of the input. */
      readonly kind: 'space_to_depth';
      readonly name: 'compress_all_res' | 'compress_time_res' | 'compress_space_res';
      /** Space-to-depth factors (time, height, width). */
      readonly stride: readonly [number, number, number];
      /** Output channels = input channels × multiplier. */
      readonly multiplier: number;
    }
  | {
      /** compress_all / compress_time / compress_space: a strided causal convolution. */
      readonly kind: 'strided_conv';
      readonly name: 'compress_all' | 'compress_time' | 'compress_space';
      readonly stride: readonly [number, number, number];
    };

/** How the encoder's output carries the posterior's log-variance (`latent_log_var`). */
export type VaeLatentLogVar = 'uniform' | 'per_channel' | 'constant';

export interface VaeEncoderConfig {
  readonly inChannels: number;
  readonly latentChannels: number;
  readonly patchSize: number;
  readonly baseChannels: number;
  readonly blocks: readonly VaeEncoderBlock[];
  readonly latentLogVar: VaeLatentLogVar;
  readonly spatialScaleFactor: number;
  readonly temporalScaleFactor: number;
}

/**
 * Parses the encoder half of the `vae` config (the official `Encoder` built by
 * `CausalVideoAutoencoder.from_config`). Kept apart from `parseVaeConfig` so that a checkpoint
 * whose encoder Zeus cannot build still decodes (text-to-video never runs the encoder).
 */
export function parseVaeEncoderConfig(raw: unknown): VaeEncoderConfig {
  const decoderSide = parseVaeConfig(raw);
  const config = asObject(raw, 'the vae config');
  const doubleZ = boolean(config, 'double_z', true);
  const latentLogVar = string(config, 'latent_log_var', doubleZ ? 'per_channel' : 'none');
  if (!['uniform', 'per_channel', 'constant'].includes(latentLogVar)) {
    throw new VaeConfigError(
      `latent_log_var is "${latentLogVar}"; only "uniform", "per_channel" and "constant" are supported`,
    );
  }
  if (boolean(config, 'normalize_latent_channels', false)) {
    throw new VaeConfigError('normalize_latent_channels is true; Zeus does not support that');
  }
  const blocks = blockList(config, 'encoder_blocks').map(parseEncoderBlock);
  return {
    inChannels: integer(config, 'in_channels', 3),
    latentChannels: decoderSide.latentChannels,
    patchSize: decoderSide.patchSize,
    baseChannels: integer(config, 'encoder_base_channels', 128),
    blocks,
    latentLogVar: latentLogVar as VaeLatentLogVar,
    spatialScaleFactor: decoderSide.spatialScaleFactor,
    temporalScaleFactor: decoderSide.temporalScaleFactor,
  };
}

const ENCODER_STRIDES = {
  compress_all: [2, 2, 2],
  compress_time: [2, 1, 1],
  compress_space: [1, 2, 2],
} as const;

function parseEncoderBlock([name, params]: readonly [
  string,
  Record<string, unknown>,
]): VaeEncoderBlock {
  switch (name) {
    case 'res_x':
      return { kind: 'res_x', numLayers: integer(params, 'num_layers', undefined) };
    case 'compress_all_res':
    case 'compress_time_res':
    case 'compress_space_res': {
      const base = name.slice(0, -'_res'.length) as keyof typeof ENCODER_STRIDES;
      return {
        kind: 'space_to_depth',
        name,
        stride: ENCODER_STRIDES[base],
        multiplier: integer(params, 'multiplier', 2),
      };
    }
    case 'compress_all':
    case 'compress_time':
    case 'compress_space':
      return { kind: 'strided_conv', name, stride: ENCODER_STRIDES[name] };
    default:
      throw new VaeConfigError(`encoder block "${name}" is not supported`);
  }
}

/** Channel width entering each decoder block (execution order) and after the last one. */
export function decoderWidths(config: VaeConfig): {
  readonly input: number[];
  readonly output: number;
} {
  let width = config.decoderBaseChannels;
  for (const block of config.decoderBlocks) {
    if (block.kind === 'upsample') width *= block.multiplier;
  }
  const input: number[] = [];
  for (const block of [...config.decoderBlocks].reverse()) {
    input.push(width);
    if (block.kind === 'upsample') width /= block.multiplier;
  }
  return { input, output: width };
}

function parseDecoderBlock([name, params]: readonly [
  string,
  Record<string, unknown>,
]): VaeDecoderBlock {
  switch (name) {
    case 'res_x': {
      if (boolean(params, 'inject_noise', false)) {
        throw new VaeConfigError('a res_x decoder block injects noise; Zeus does not support that');
      }
      return { kind: 'res_x', numLayers: integer(params, 'num_layers', undefined) };
    }
    case 'compress_all':
      return {
        kind: 'upsample',
        name,
        stride: [2, 2, 2],
        residual: boolean(params, 'residual', false),
        multiplier: integer(params, 'multiplier', 1),
      };
    case 'compress_time':
    case 'compress_space':
      return {
        kind: 'upsample',
        name,
        stride: name === 'compress_time' ? [2, 1, 1] : [1, 2, 2],
        residual: boolean(params, 'residual', false),
        multiplier: 1,
      };
    default:
      throw new VaeConfigError(`decoder block "${name}" is not supported`);
  }
}

function checkChannels(blocks: readonly VaeDecoderBlock[], base: number): void {
  let width = base;
  for (const block of blocks) {
    if (block.kind !== 'upsample') continue;
    if (block.multiplier < 1)
      throw new VaeConfigError(`an upsampler has multiplier ${block.multiplier}`);
    width *= block.multiplier;
  }
  for (const block of [...blocks].reverse()) {
    if (block.kind !== 'upsample') continue;
    const factor = block.stride[0] * block.stride[1] * block.stride[2];
    const repeats = factor / block.multiplier;
    if (width % factor !== 0 || (block.residual && !Number.isInteger(repeats))) {
      throw new VaeConfigError(
        `a ${block.name} block of width ${width} cannot split into ${factor} depth-to-space parts`,
      );
    }
    width /= block.multiplier;
  }
}

function blockList(
  config: Record<string, unknown>,
  key: string,
): (readonly [string, Record<string, unknown>])[] {
  const value = config[key];
  if (!Array.isArray(value)) throw new VaeConfigError(`${key} is missing or not a list`);
  return value.map((entry: unknown, index) => {
    // The official loader accepts ["name", {params}], ["name", num_layers] and "name".
    if (typeof entry === 'string') return [entry, {}] as const;
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') {
      throw new VaeConfigError(`${key}[${index}] is not a [name, params] pair`);
    }
    const params: unknown = entry[1];
    if (typeof params === 'number') return [entry[0], { num_layers: params }] as const;
    return [
      entry[0],
      params === undefined ? {} : asObject(params, `${key}[${index}] params`),
    ] as const;
  });
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VaeConfigError(`${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

function integer(
  config: Record<string, unknown>,
  key: string,
  fallback: number | undefined,
): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VaeConfigError(`${key} is ${JSON.stringify(value)}, not a positive integer`);
  }
  return value;
}

function boolean(config: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = config[key] ?? fallback;
  if (typeof value !== 'boolean') {
    throw new VaeConfigError(`${key} is ${JSON.stringify(value)}, not true or false`);
  }
  return value;
}

function string(config: Record<string, unknown>, key: string, fallback: string): string {
  const value = config[key] ?? fallback;
  if (typeof value !== 'string') {
    throw new VaeConfigError(`${key} is ${JSON.stringify(value)}, not a string`);
  }
  return value;
}
