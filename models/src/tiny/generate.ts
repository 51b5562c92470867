/**
 * Writes the "tiny-random" model set: the same files, formats and structure as the real
 * LTX-Video 0.9.6-distilled set (see store/model-files.ts for the layout), with tiny sizes and
 * seeded random weights, so every path of the real model runs on a CPU in seconds. The same seed
 * gives the same bytes on every run and machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINT_DIR,
  TEXT_ENCODER_DIR,
  TEXT_ENCODER_INDEX,
  TOKENIZER_DIR,
  TOKENIZER_FILES,
} from '../registry.ts';
import { writeSafetensors } from '../safetensors.ts';
import { TINY_LTX_SIZES, tinyCheckpoint } from './checkpoint.ts';
import { SeededRandom } from '../seeded-random.ts';
import { shardFileName, shardIndex, shardTensors, tinyT5Config, tinyT5Tensors } from './t5.ts';
import {
  tinySpieceModel,
  tinyTokenizerJsonFiles,
  tinyTokenizerPieces,
  tinyVocabSize,
} from './tokenizer.ts';

/** Bump when the generator writes different bytes for the same seed (cached sets are remade). */
export const TINY_GENERATOR_VERSION = 1;

/** As many shards as PixArt's text encoder, so shard handling is exercised the same way. */
export const TINY_T5_SHARDS = 4;

export interface TinyModelOptions {
  readonly seed: number;
  /** Name of the checkpoint file in `checkpoint/`. */
  readonly checkpointFile: string;
}

/** Paths (in the model directory) of every file `generateTinyModel` writes. */
export function tinyModelTargets(checkpointFile: string): string[] {
  return [
    `${CHECKPOINT_DIR}/${checkpointFile}`,
    `${TEXT_ENCODER_DIR}/config.json`,
    `${TEXT_ENCODER_DIR}/${TEXT_ENCODER_INDEX}`,
    ...Array.from(
      { length: TINY_T5_SHARDS },
      (_, index) => `${TEXT_ENCODER_DIR}/${shardFileName(index, TINY_T5_SHARDS)}`,
    ),
    ...TOKENIZER_FILES.map((name) => `${TOKENIZER_DIR}/${name}`),
  ];
}

/** Writes the tiny model set into `dir` (a model directory). */
export async function generateTinyModel(dir: string, options: TinyModelOptions): Promise<void> {
  const random = new SeededRandom(options.seed);
  for (const folder of [CHECKPOINT_DIR, TEXT_ENCODER_DIR, TOKENIZER_DIR]) {
    await mkdir(join(dir, folder), { recursive: true });
  }

  const checkpoint = tinyCheckpoint(random.stream('checkpoint'));
  await writeSafetensors(
    join(dir, CHECKPOINT_DIR, options.checkpointFile),
    checkpoint.tensors,
    checkpoint.metadata,
  );

  const pieceCount = tinyTokenizerPieces().length;
  await writeFile(join(dir, TOKENIZER_DIR, 'spiece.model'), tinySpieceModel());
  for (const [name, content] of Object.entries(tinyTokenizerJsonFiles(pieceCount))) {
    await writeFile(join(dir, TOKENIZER_DIR, name), `${JSON.stringify(content, null, 2)}\n`);
  }

  const t5Sizes = {
    dModel: TINY_LTX_SIZES.captionChannels,
    dKv: 8,
    heads: 4,
    dFf: 64,
    layers: 2,
    vocabSize: tinyVocabSize(pieceCount),
  };
  await writeFile(
    join(dir, TEXT_ENCODER_DIR, 'config.json'),
    `${JSON.stringify(tinyT5Config(t5Sizes), null, 2)}\n`,
  );
  const shards = shardTensors(
    tinyT5Tensors(t5Sizes, random.stream('text_encoder')),
    TINY_T5_SHARDS,
  );
  for (const [index, shard] of shards.entries()) {
    await writeSafetensors(
      join(dir, TEXT_ENCODER_DIR, shardFileName(index, shards.length)),
      shard,
      { format: 'pt' },
    );
  }
  await writeFile(
    join(dir, TEXT_ENCODER_DIR, TEXT_ENCODER_INDEX),
    `${JSON.stringify(shardIndex(shards), null, 2)}\n`,
  );
}
