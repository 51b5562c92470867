import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ltxGoldenDir } from '../../tests/helpers/ltx-golden.ts';
import { readVaeConfig } from '../src/ltx/vae-config.ts';
import { SafetensorsFile } from '../src/safetensors.ts';
import { generateTinyModel, tinyModelTargets } from '../src/tiny/generate.ts';
import { buildPrecompiledCharsmap } from '../src/tiny/tokenizer.ts';
import { PrecompiledCharsmap } from '../src/tokenizer/precompiled-charsmap.ts';
import { parseSentencePieceModel, PIECE_TYPE } from '../src/tokenizer/sentencepiece-model.ts';
import { T5Tokenizer } from '../src/tokenizer/t5-tokenizer.ts';

const GOLDEN = ltxGoldenDir();
const CHECKPOINT = 'tiny.safetensors';

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-tiny-'));
  dir = join(root, 'a');
  await generateTinyModel(dir, { seed: 7, checkpointFile: CHECKPOINT });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function hashes(modelDir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const target of tinyModelTargets(CHECKPOINT)) {
    result[target] = createHash('sha256')
      .update(await readFile(join(modelDir, ...target.split('/'))))
      .digest('hex');
  }
  return result;
}

async function withFile<T>(
  path: string,
  use: (file: SafetensorsFile) => T | Promise<T>,
): Promise<T> {
  const file = await SafetensorsFile.open(path);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

/** Every key path of a JSON value ("vae.encoder_blocks", ...), arrays left whole. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) =>
    keyPaths(child, prefix === '' ? key : `${prefix}.${key}`),
  );
}

function std(values: Float32Array): number {
  let sum = 0;
  let squares = 0;
  for (const value of values) {
    sum += value;
    squares += value * value;
  }
  const mean = sum / values.length;
  return Math.sqrt(squares / values.length - mean * mean);
}

describe('the tiny-random generator', () => {
  it('writes exactly the files it lists', async () => {
    const listed = tinyModelTargets(CHECKPOINT).sort();
    const written = (
      await Promise.all(
        ['checkpoint', 'text_encoder', 'tokenizer'].map(async (folder) =>
          (await readdir(join(dir, folder))).map((name) => `${folder}/${name}`),
        ),
      )
    )
      .flat()
      .sort();
    expect(written).toEqual(listed);
  });

  it('writes the same bytes for the same seed, and others for another seed', async () => {
    const again = join(root, 'b');
    const other = join(root, 'c');
    await generateTinyModel(again, { seed: 7, checkpointFile: CHECKPOINT });
    await generateTinyModel(other, { seed: 8, checkpointFile: CHECKPOINT });
    const first = await hashes(dir);
    expect(await hashes(again)).toEqual(first);
    const different = await hashes(other);
    expect(different[`checkpoint/${CHECKPOINT}`]).not.toBe(first[`checkpoint/${CHECKPOINT}`]);
    expect(different['text_encoder/model-00001-of-00004.safetensors']).not.toBe(
      first['text_encoder/model-00001-of-00004.safetensors'],
    );
  });
});

describe('the tiny checkpoint', () => {
  it('has the golden checkpoint tensor names, dtypes, ranks and metadata layout', async () => {
    const tiny = await withFile(join(dir, 'checkpoint', CHECKPOINT), (file) => ({
      entries: [...file.entries.values()],
      metadata: file.metadata,
    }));
    const golden = await withFile(join(GOLDEN, 'checkpoint.safetensors'), (file) => ({
      entries: [...file.entries.values()],
      metadata: file.metadata,
    }));
    expect(tiny.entries.map((entry) => entry.name).sort()).toEqual(
      golden.entries.map((entry) => entry.name).sort(),
    );
    const goldenRanks = new Map(golden.entries.map((entry) => [entry.name, entry.shape.length]));
    for (const entry of tiny.entries) {
      expect(entry.dtype, entry.name).toBe('bfloat16');
      expect(entry.shape.length, entry.name).toBe(goldenRanks.get(entry.name));
    }
    expect(Object.keys(tiny.metadata)).toEqual(Object.keys(golden.metadata));
    const manifest = JSON.parse(await readFile(join(GOLDEN, 'manifest.json'), 'utf8')) as {
      configs: { checkpoint_metadata_config: unknown };
    };
    const config = JSON.parse(tiny.metadata['config'] ?? '') as unknown;
    expect(keyPaths(config).sort()).toEqual(
      keyPaths(manifest.configs.checkpoint_metadata_config).sort(),
    );
  });

  it('keeps the real VAE compression (32× space, 8× time) and the sizes asked for', async () => {
    await withFile(join(dir, 'checkpoint', CHECKPOINT), (file) => {
      const vae = readVaeConfig(file);
      expect(vae.spatialScaleFactor).toBe(32);
      expect(vae.temporalScaleFactor).toBe(8);
      const config = JSON.parse(file.metadata['config'] ?? '') as {
        transformer: {
          num_attention_heads: number;
          attention_head_dim: number;
          num_layers: number;
          caption_channels: number;
        };
      };
      expect(config.transformer).toMatchObject({
        num_attention_heads: 2,
        attention_head_dim: 10,
        num_layers: 2,
        caption_channels: 32,
      });
      expect(file.entry('model.diffusion_model.patchify_proj.weight').shape).toEqual([20, 128]);
      expect(file.entry('vae.decoder.conv_in.conv.weight').shape).toEqual([32, 128, 3, 3, 3]);
    });
  });

  it('has weights on the usual scales', async () => {
    await withFile(join(dir, 'checkpoint', CHECKPOINT), async (file) => {
      const linear = await file.readFloat32(
        'model.diffusion_model.transformer_blocks.0.ff.net.2.weight',
      );
      expect(std(linear)).toBeCloseTo(1 / Math.sqrt(80), 1);
      const conv = await file.readFloat32('vae.decoder.up_blocks.0.res_blocks.0.conv1.conv.weight');
      expect(std(conv)).toBeCloseTo(1 / Math.sqrt(32 * 27), 2);
      const norm = await file.readFloat32(
        'model.diffusion_model.transformer_blocks.0.attn1.q_norm.weight',
      );
      for (const value of norm) expect(Math.abs(value - 1)).toBeLessThan(0.6);
      const stds = await file.readFloat32('vae.per_channel_statistics.std-of-means');
      for (const value of stds) expect(value).toBeGreaterThan(0.4);
      const multiplier = await file.readFloat32('vae.decoder.timestep_scale_multiplier');
      expect(multiplier[0]).toBeGreaterThan(900);
      expect(multiplier[0]).toBeLessThan(1100);
      expect(await file.readFloat32('vae.per_channel_statistics.channel')).toEqual(
        Float32Array.from({ length: 128 }, (_, i) => i),
      );
    });
  });
});

describe('the tiny text encoder', () => {
  it('is a sharded Hugging Face T5 folder with the golden config keys and tensor names', async () => {
    const config = JSON.parse(
      await readFile(join(dir, 'text_encoder', 'config.json'), 'utf8'),
    ) as Record<string, unknown>;
    const goldenConfig = JSON.parse(
      await readFile(join(GOLDEN, 'text_encoder', 'config.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual(Object.keys(goldenConfig).sort());
    expect(config['d_model']).toBe(32);

    const index = JSON.parse(
      await readFile(join(dir, 'text_encoder', 'model.safetensors.index.json'), 'utf8'),
    ) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    const shards = [...new Set(Object.values(index.weight_map))].sort();
    expect(shards).toEqual([1, 2, 3, 4].map((n) => `model-0000${n}-of-00004.safetensors`));
    const shapes = new Map<string, readonly number[]>();
    let totalSize = 0;
    for (const shard of shards) {
      await withFile(join(dir, 'text_encoder', shard), (file) => {
        for (const entry of file.entries.values()) {
          expect(index.weight_map[entry.name]).toBe(shard);
          expect(entry.dtype).toBe('float32');
          shapes.set(entry.name, entry.shape);
          totalSize += entry.byteLength;
        }
      });
    }
    expect(shapes.size).toBe(Object.keys(index.weight_map).length);
    expect(index.metadata.total_size).toBe(totalSize);

    // The golden file also stores the tied embedding as encoder.embed_tokens.weight; the tiny
    // one stores it once, as transformers does when it saves T5EncoderModel.
    const golden = await withFile(join(GOLDEN, 'text_encoder', 'model.safetensors'), (file) => [
      ...file.entries.values(),
    ]);
    const expected = golden.filter((entry) => entry.name !== 'encoder.embed_tokens.weight');
    expect([...shapes.keys()].sort()).toEqual(expected.map((entry) => entry.name).sort());
    for (const entry of expected)
      expect(shapes.get(entry.name)?.length, entry.name).toBe(entry.shape.length);

    const vocabSize = config['vocab_size'] as number;
    expect(shapes.get('shared.weight')).toEqual([vocabSize, 32]);
    expect(vocabSize % 128).toBe(0);
  });
});

describe('the tiny tokenizer', () => {
  it('has the real folder layout and T5 ids', async () => {
    expect((await readdir(join(dir, 'tokenizer'))).sort()).toEqual(
      (await readdir(join(GOLDEN, 'tokenizer'))).sort(),
    );
    for (const name of ['tokenizer_config.json', 'special_tokens_map.json']) {
      const tiny = JSON.parse(await readFile(join(dir, 'tokenizer', name), 'utf8')) as object;
      const golden = JSON.parse(await readFile(join(GOLDEN, 'tokenizer', name), 'utf8')) as object;
      expect(Object.keys(tiny).sort(), name).toEqual(Object.keys(golden).sort());
    }
    const model = parseSentencePieceModel(await readFile(join(dir, 'tokenizer', 'spiece.model')));
    expect(model.pieces.slice(0, 3)).toEqual([
      { piece: '<pad>', score: 0, type: PIECE_TYPE.CONTROL },
      { piece: '</s>', score: 0, type: PIECE_TYPE.CONTROL },
      { piece: '<unk>', score: 0, type: PIECE_TYPE.UNKNOWN },
    ]);
    expect(model.normalizerSpec.name).toBe('nmt_nfkc');
    const added = JSON.parse(
      await readFile(join(dir, 'tokenizer', 'added_tokens.json'), 'utf8'),
    ) as Record<string, number>;
    expect(Object.keys(added)).toHaveLength(100);
    expect(added['<extra_id_0>']).toBe(model.pieces.length + 99);
    expect(added['<extra_id_99>']).toBe(model.pieces.length);
    const config = JSON.parse(await readFile(join(dir, 'text_encoder', 'config.json'), 'utf8')) as {
      vocab_size: number;
    };
    expect(config.vocab_size).toBeGreaterThanOrEqual(model.pieces.length + 100);
  });

  it('tokenizes ordinary English prompts without unknown tokens', async () => {
    const tokenizer = await T5Tokenizer.load(join(dir, 'tokenizer'));
    expect(tokenizer.eosId).toBe(1);
    expect(tokenizer.padId).toBe(0);
    const prompts = [
      'A red fox runs through a snowy forest at sunset, cinematic lighting.',
      'Close-up of an old man smiling; shallow depth of field (35mm), 4K!',
      'Two cats playing with a ball of yarn on the kitchen floor #cute @home',
    ];
    for (const prompt of prompts) {
      const ids = tokenizer.tokenize(prompt);
      expect(ids.at(-1)).toBe(1);
      expect(ids, prompt).not.toContain(2);
      // Common words are single pieces, so a prompt takes far fewer tokens than characters.
      expect(ids.length).toBeLessThan(prompt.length / 2);
    }
    expect(tokenizer.tokenize('the cat')).toHaveLength(3);
    expect(tokenizer.tokenize('emoji \u{1F642}')).toContain(2);
    const encoded = tokenizer.encode('A cat.');
    expect(encoded.inputIds).toHaveLength(256);
    expect(Number(encoded.attentionMask.reduce((sum, value) => sum + value, 0n))).toBe(
      encoded.tokenCount,
    );
  });

  it('normalises with a precompiled charsmap as the real model does', async () => {
    const model = parseSentencePieceModel(await readFile(join(dir, 'tokenizer', 'spiece.model')));
    const charsmap = PrecompiledCharsmap.parse(model.normalizerSpec.precompiledCharsmap);
    expect(charsmap.normalize('\uff28\uff49\u2026 \ufb01ne cafe\u0301\u00a0\u00bd')).toBe(
      'Hi... fine café 1\u20442',
    );
    expect(charsmap.normalize('plain text stays')).toBe('plain text stays');
    const tokenizer = await T5Tokenizer.load(join(dir, 'tokenizer'));
    expect(tokenizer.tokenize('\uff54\uff48\uff45 cat')).toEqual(tokenizer.tokenize('the cat'));
  });

  it('builds charsmaps whose longest rule wins', () => {
    const charsmap = PrecompiledCharsmap.parse(
      buildPrecompiledCharsmap([
        ['a', 'x'],
        ['ab', 'y'],
        ['abc', 'z'],
        ['\u00e9', 'E'],
      ]),
    );
    expect(charsmap.normalize('abcabac\u00e9')).toBe('zyxcE');
  });
});
