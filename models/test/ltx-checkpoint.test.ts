import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';
import { CheckpointError, parseLtxCheckpointConfig } from '../src/ltx/checkpoint-config.ts';
import {
  LtxCheckpoint,
  transformerTensorShapes,
  TRANSFORMER_PREFIX,
} from '../src/ltx/checkpoint.ts';
import { SafetensorsFile, writeSafetensors } from '../src/safetensors.ts';
import type { HostTensor } from '../src/tensor/tensor.ts';

const GOLDEN_CHECKPOINT = join(ltxGoldenDir(), 'checkpoint.safetensors');

const dirs: string[] = [];
let configJson: string;
let tensors: [string, HostTensor][];

beforeAll(async () => {
  const file = await SafetensorsFile.open(GOLDEN_CHECKPOINT);
  configJson = file.metadata['config'] ?? '';
  tensors = [];
  for (const name of file.names) tensors.push([name, await file.read(name)]);
  await file.close();
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A copy of the golden checkpoint with some tensors or the metadata changed. */
async function variant(
  change: {
    tensors?: (list: [string, HostTensor][]) => [string, HostTensor][];
    metadata?: Record<string, string>;
  } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-checkpoint-'));
  dirs.push(dir);
  const path = join(dir, 'checkpoint.safetensors');
  await writeSafetensors(
    path,
    (change.tensors ?? ((list) => list))([...tensors]),
    change.metadata ?? { config: configJson },
  );
  return path;
}

function withConfig(edit: (root: Record<string, Record<string, unknown>>) => void): string {
  const root = JSON.parse(configJson) as Record<string, Record<string, unknown>>;
  edit(root);
  return JSON.stringify(root);
}

function caught(run: () => unknown): CheckpointError {
  try {
    run();
  } catch (error) {
    if (error instanceof CheckpointError) return error;
    throw error;
  }
  throw new Error('no error thrown');
}

describe('LtxCheckpoint', () => {
  it('reads the golden checkpoint: configs, tensors by name, and the full tensor check', async () => {
    const checkpoint = await LtxCheckpoint.open(GOLDEN_CHECKPOINT);
    const raw = JSON.parse(configJson) as {
      transformer: Record<string, number>;
      allowed_inference_steps: number[];
    };
    const { transformer, scheduler, vae, allowedInferenceSteps } = checkpoint.config;
    expect(transformer.numLayers).toBe(raw.transformer['num_layers']);
    expect(transformer.innerDim).toBe(
      (raw.transformer['num_attention_heads'] ?? 0) * (raw.transformer['attention_head_dim'] ?? 0),
    );
    expect(transformer.positionalEmbeddingMaxPos).toEqual([20, 2048, 2048]);
    expect(transformer.causalTemporalPositioning).toBe(true);
    expect(scheduler).toEqual({
      sampler: 'LinearQuadratic',
      shifting: null,
      numTrainTimesteps: 1000,
    });
    expect(vae['_class_name']).toBe('CausalVideoAutoencoder');
    expect(allowedInferenceSteps).toEqual(raw.allowed_inference_steps);
    checkpoint.checkTransformerTensors();
    expect(checkpoint.transformerNames().sort()).toEqual(
      [...transformerTensorShapes(transformer).keys()].sort(),
    );
    expect(checkpoint.vaeNames()).toContain('per_channel_statistics.std-of-means');
    const weight = await checkpoint.readTransformer('proj_out.weight');
    expect(weight.dtype).toBe('bfloat16');
    expect(weight.shape).toEqual([transformer.outChannels, transformer.innerDim]);
    expect(await checkpoint.readTransformerFloat32('proj_out.bias')).toHaveLength(
      transformer.outChannels,
    );
    expect((await checkpoint.readVae('per_channel_statistics.mean-of-means')).shape).toEqual([128]);
    await expect(checkpoint.readTransformer('nope.weight')).rejects.toThrow(
      /model\.diffusion_model\.nope\.weight is missing/,
    );
    await checkpoint.close();
  });

  it('names a missing tensor', async () => {
    const missing = `${TRANSFORMER_PREFIX}transformer_blocks.1.attn2.k_norm.weight`;
    const path = await variant({ tensors: (list) => list.filter(([name]) => name !== missing) });
    const checkpoint = await LtxCheckpoint.open(path);
    const error = caught(() => {
      checkpoint.checkTransformerTensors();
    });
    expect(error.reason).toBe('bad-tensors');
    expect(error.problems).toEqual([
      `Tensor ${missing} [${checkpoint.config.transformer.innerDim}] is missing.`,
    ]);
    expect(error.message).toContain(missing);
    await checkpoint.close();
  });

  it('names a tensor of the wrong shape, and one that does not belong', async () => {
    const wrong = `${TRANSFORMER_PREFIX}patchify_proj.weight`;
    const path = await variant({
      tensors: (list) => [
        ...list.map(([name, tensor]): [string, HostTensor] =>
          name === wrong
            ? [
                name,
                { dtype: 'bfloat16', shape: [20, 64], bytes: tensor.bytes.slice(0, 20 * 64 * 2) },
              ]
            : [name, tensor],
        ),
        [
          `${TRANSFORMER_PREFIX}extra.weight`,
          { dtype: 'float32', shape: [1], bytes: new Uint8Array(4) },
        ],
      ],
    });
    const checkpoint = await LtxCheckpoint.open(path);
    const { innerDim: d, inChannels } = checkpoint.config.transformer;
    const error = caught(() => {
      checkpoint.checkTransformerTensors();
    });
    expect(error.problems).toEqual([
      `Tensor ${wrong} has shape [${d}, 64], expected [${d}, ${inChannels}].`,
      `Tensor ${TRANSFORMER_PREFIX}extra.weight is not part of this transformer.`,
    ]);
    await checkpoint.close();
  });

  it('refuses a file without config metadata, or with a config that is not JSON', async () => {
    await expect(LtxCheckpoint.open(await variant({ metadata: {} }))).rejects.toThrow(
      /no __metadata__\.config entry/,
    );
    await expect(
      LtxCheckpoint.open(await variant({ metadata: { config: '{not json' } })),
    ).rejects.toMatchObject({ reason: 'bad-metadata' });
    await expect(
      LtxCheckpoint.open(await variant({ metadata: { config: '[1, 2]' } })),
    ).rejects.toThrow(/not a JSON object/);
  });

  it('reports every invalid config value at once', () => {
    const transformer = (JSON.parse(configJson) as { transformer: Record<string, number> })
      .transformer;
    const width =
      (transformer['num_attention_heads'] ?? 0) * (transformer['attention_head_dim'] ?? 0);
    const error = caught(() =>
      parseLtxCheckpointConfig(
        withConfig((root) => {
          delete root['scheduler'];
          root['transformer']!['num_layers'] = 0;
          root['transformer']!['norm_eps'] = 'small';
          root['transformer']!['positional_embedding_max_pos'] = [20, 2048];
          root['transformer']!['cross_attention_dim'] = 7;
        }),
        'x.safetensors',
      ),
    );
    expect(error.reason).toBe('invalid-config');
    expect(error.problems).toEqual([
      'config.scheduler is missing.',
      'config.transformer.positional_embedding_max_pos must be 3 positive numbers.',
      'config.transformer.num_layers must be a positive integer, got 0.',
      'config.transformer.norm_eps must be a positive number, got "small".',
      'config.transformer.cross_attention_dim (7) must equal num_attention_heads × ' +
        `attention_head_dim (${width}).`,
    ]);
    expect(error.message).toMatch(/^x\.safetensors is not a usable LTX-Video checkpoint: /);
  });

  it('refuses model variants it does not implement', () => {
    const error = caught(() =>
      parseLtxCheckpointConfig(
        withConfig((root) => {
          root['transformer']!['activation_fn'] = 'geglu';
          root['transformer']!['qk_norm'] = null;
        }),
        'x',
      ),
    );
    expect(error.reason).toBe('unsupported-config');
    expect(error.problems).toEqual([
      'config.transformer.activation_fn is "geglu"; only "gelu-approximate" is supported.',
      'config.transformer.qk_norm is null; only "rms_norm" is supported.',
    ]);
    expect(() =>
      parseLtxCheckpointConfig(
        withConfig((root) => {
          root['allowed_inference_steps'] = [1, 'x'] as unknown as Record<string, unknown>;
        }),
        'x',
      ),
    ).toThrow(/allowed_inference_steps must be a list of numbers/);
  });

  it('opens a file that is not safetensors with a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-checkpoint-'));
    dirs.push(dir);
    await writeFile(join(dir, 'bad.safetensors'), 'not a checkpoint at all');
    await expect(LtxCheckpoint.open(join(dir, 'bad.safetensors'))).rejects.toThrow(
      /not a valid safetensors file/,
    );
  });
});
