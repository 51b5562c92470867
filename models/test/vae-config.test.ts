import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';
import {
  decoderWidths,
  parseVaeConfig,
  readVaeConfig,
  VaeConfigError,
} from '../src/ltx/vae-config.ts';
import { buildVaeDecoderGraphs } from '../src/ltx/vae-decoder-graph.ts';
import { VaeModelError, type VaeWeights } from '../src/ltx/vae-weights.ts';
import { SafetensorsFile, writeSafetensors } from '../src/safetensors.ts';

const GOLDEN_DIR = ltxGoldenDir();

interface Manifest {
  readonly run: {
    readonly height: number;
    readonly width: number;
    readonly num_frames: number;
    readonly latent_shape: readonly number[];
  };
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

let rawVae: Record<string, unknown>;
let manifest: Manifest;
const dirs: string[] = [];

beforeAll(async () => {
  const file = await SafetensorsFile.open(join(GOLDEN_DIR, 'checkpoint.safetensors'));
  const config = JSON.parse(file.metadata['config'] ?? '{}') as Record<string, unknown>;
  rawVae = config['vae'] as Record<string, unknown>;
  await file.close();
  manifest = JSON.parse(await readFile(join(GOLDEN_DIR, 'manifest.json'), 'utf8')) as Manifest;
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function edited(edit: (config: Record<string, unknown>) => void): Record<string, unknown> {
  const copy = structuredClone(rawVae);
  edit(copy);
  return copy;
}

function tensorShape(name: string): readonly number[] {
  const tensor = manifest.tensors.find((entry) => entry.name === name);
  if (tensor === undefined) throw new Error(`No ${name} in the manifest`);
  return tensor.shape;
}

describe('parseVaeConfig', () => {
  it('reads the golden config and derives the scale factors the reference run shows', async () => {
    const file = await SafetensorsFile.open(join(GOLDEN_DIR, 'checkpoint.safetensors'));
    const config = readVaeConfig(file);
    await file.close();
    expect(config).toEqual(parseVaeConfig(rawVae));
    expect(config.latentChannels).toBe(rawVae['latent_channels']);
    expect(config.patchSize).toBe(rawVae['patch_size']);
    expect(config.decoderBaseChannels).toBe(rawVae['decoder_base_channels']);
    const [, , frames = 0, height = 0, width = 0] = manifest.run.latent_shape;
    expect(config.spatialScaleFactor).toBe(manifest.run.height / height);
    expect(config.spatialScaleFactor).toBe(manifest.run.width / width);
    expect(config.temporalScaleFactor).toBe((manifest.run.num_frames - 1) / (frames - 1));
    expect(config.decoderBlocks.map((block) => block.kind)).toEqual(
      (rawVae['decoder_blocks'] as [string][]).map(([name]) =>
        name === 'res_x' ? 'res_x' : 'upsample',
      ),
    );
  });

  it('gives each decoder block the width the reference intermediates have', () => {
    const widths = decoderWidths(parseVaeConfig(rawVae));
    expect(widths.input[0]).toBe(tensorShape('vae_decode.debug.conv_in_out')[1]);
    for (let index = 1; index < widths.input.length; index++) {
      expect(widths.input[index]).toBe(
        tensorShape(`vae_decode.debug.up_block_${index - 1}_out`)[1],
      );
    }
    expect(widths.output).toBe(tensorShape('vae_decode.debug.conv_norm_out_out')[1]);
  });

  it('applies the official defaults: 128 base channels, zero spatial padding', () => {
    const config = parseVaeConfig(
      edited((raw) => {
        delete raw['decoder_base_channels'];
        delete raw['spatial_padding_mode'];
      }),
    );
    expect(config.decoderBaseChannels).toBe(128);
    // 0.9.6: three ×2 compress_all upsamplers → 1024, 512, 256, 128.
    expect(decoderWidths(config).input.filter((_, i) => i % 2 === 0)).toEqual([
      1024, 512, 256, 128,
    ]);
    const explicit = parseVaeConfig(
      edited((raw) => {
        raw['spatial_padding_mode'] = 'zeros';
        raw['decoder_base_channels'] = 128;
      }),
    );
    expect(explicit).toEqual(config);
  });

  it.each([
    [
      'the class',
      (raw: Record<string, unknown>) => (raw['_class_name'] = 'AutoencoderKL'),
      /_class_name/,
    ],
    ['image VAEs', (raw: Record<string, unknown>) => (raw['dims'] = 2), /dims is 2/],
    [
      'group norm',
      (raw: Record<string, unknown>) => (raw['norm_layer'] = 'group_norm'),
      /norm_layer/,
    ],
    [
      'a causal decoder',
      (raw: Record<string, unknown>) => (raw['causal_decoder'] = true),
      /causal_decoder/,
    ],
    [
      'no timestep conditioning',
      (raw: Record<string, unknown>) => (raw['timestep_conditioning'] = false),
      /timestep_conditioning/,
    ],
    [
      'reflect padding',
      (raw: Record<string, unknown>) => (raw['spatial_padding_mode'] = 'reflect'),
      /spatial_padding_mode is "reflect"/,
    ],
    [
      'quant convs',
      (raw: Record<string, unknown>) => (raw['use_quant_conv'] = true),
      /use_quant_conv/,
    ],
    [
      'a missing block list',
      (raw: Record<string, unknown>) => delete raw['decoder_blocks'],
      /decoder_blocks/,
    ],
    [
      'an unknown block',
      (raw: Record<string, unknown>) =>
        (raw['decoder_blocks'] = [['attn_res_x', { num_layers: 1 }]]),
      /"attn_res_x" is not supported/,
    ],
    [
      'noise injection',
      (raw: Record<string, unknown>) =>
        (raw['decoder_blocks'] = [['res_x', { num_layers: 2, inject_noise: true }]]),
      /injects noise/,
    ],
    [
      'a zero layer count',
      (raw: Record<string, unknown>) => (raw['decoder_blocks'] = [['res_x', { num_layers: 0 }]]),
      /num_layers is 0/,
    ],
    [
      'a string patch size',
      (raw: Record<string, unknown>) => (raw['patch_size'] = '4'),
      /patch_size/,
    ],
    [
      'widths that do not split into depth-to-space parts',
      (raw: Record<string, unknown>) =>
        (raw['decoder_blocks'] = [
          ['compress_all', { residual: true, multiplier: 3 }],
          ['compress_all', { residual: true, multiplier: 3 }],
        ]),
      /cannot split/,
    ],
  ])('refuses %s', (_, edit, message) => {
    expect(() => parseVaeConfig(edited(edit))).toThrow(VaeConfigError);
    expect(() => parseVaeConfig(edited(edit))).toThrow(message);
  });

  it('refuses a checkpoint without a usable config', async () => {
    expect(() => parseVaeConfig([])).toThrow(/not an object/);
    const dir = await mkdtemp(join(tmpdir(), 'zeus-vae-config-'));
    dirs.push(dir);
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no "config" metadata/],
      [{ config: '{not json' }, /not JSON/],
      [{ config: '{"transformer": {}}' }, /has no "vae"/],
    ];
    for (const [index, [metadata, message]] of cases.entries()) {
      const path = join(dir, `case-${index}.safetensors`);
      await writeSafetensors(path, [], metadata);
      const file = await SafetensorsFile.open(path);
      expect(() => readVaeConfig(file)).toThrow(message);
      await file.close();
    }
  });
});

describe('buildVaeDecoderGraphs', () => {
  const weights = (
    override: (key: string, expected: readonly number[]) => readonly number[] | undefined,
  ): VaeWeights => ({
    shape: override,
    read: () => Promise.reject(new Error('not read while building')),
  });

  it('names a tensor the checkpoint lacks', () => {
    const config = parseVaeConfig(rawVae);
    const missing = weights((key, expected) =>
      key === 'decoder.conv_out.conv.bias' ? undefined : expected,
    );
    expect(() => buildVaeDecoderGraphs(config, missing, { dtype: 'float32' })).toThrow(
      new VaeModelError('The checkpoint has no tensor vae.decoder.conv_out.conv.bias'),
    );
  });

  it('names a tensor whose shape contradicts the config', () => {
    const config = parseVaeConfig(rawVae);
    const wrong = weights((key, expected) =>
      key === 'decoder.up_blocks.1.conv.conv.weight' ? [1, ...expected.slice(1)] : expected,
    );
    expect(() => buildVaeDecoderGraphs(config, wrong, { dtype: 'float16' })).toThrow(
      /vae\.decoder\.up_blocks\.1\.conv\.conv\.weight has shape \[1, /,
    );
  });
});
