/** Where each file of a model is inside its directory (the layout model-files.ts describes). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ONNX_DIR,
  TEXT_ENCODER_DIR,
  TEXT_ENCODER_INDEX,
  TOKENIZER_DIR,
  type ModelName,
} from '../registry.ts';

/** Where a model's files are, once `ensureModelFiles` has made sure they are all there. */
export interface ModelFiles {
  readonly name: ModelName;
  /** The model's directory. */
  readonly dir: string;
  /** The single-file checkpoint (transformer + VAE). */
  readonly checkpoint: string;
  readonly textEncoderDir: string;
  readonly textEncoderConfig: string;
  readonly textEncoderIndex: string;
  /** The T5 weight shards, in order. */
  readonly textEncoderShards: readonly string[];
  readonly tokenizerDir: string;
  readonly spieceModel: string;
  /** Where converted ONNX graphs go (created by the converter when needed). */
  readonly onnxDir: string;
}

/** The paths of model `name` in `dir`, its checkpoint at `checkpoint` (relative to `dir`). */
export async function modelLayout(
  name: ModelName,
  dir: string,
  checkpoint: string,
): Promise<ModelFiles> {
  const shards = await shardNamesOf(join(dir, TEXT_ENCODER_DIR, TEXT_ENCODER_INDEX));
  const textEncoderDir = join(dir, TEXT_ENCODER_DIR);
  const tokenizerDir = join(dir, TOKENIZER_DIR);
  return {
    name,
    dir,
    checkpoint: join(dir, checkpoint),
    textEncoderDir,
    textEncoderConfig: join(textEncoderDir, 'config.json'),
    textEncoderIndex: join(textEncoderDir, TEXT_ENCODER_INDEX),
    textEncoderShards: shards.map((shard) => join(textEncoderDir, shard)),
    tokenizerDir,
    spieceModel: join(tokenizerDir, 'spiece.model'),
    onnxDir: join(dir, ONNX_DIR),
  };
}

/** The distinct files of a safetensors index's `weight_map`, sorted. */
export async function shardNamesOf(indexPath: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new Error(`${indexPath} is not a readable safetensors index`, { cause: error });
  }
  const weightMap = (index as { weight_map?: unknown }).weight_map;
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new Error(`${indexPath} has no weight_map`);
  }
  const names = new Set<string>();
  for (const [tensor, file] of Object.entries(weightMap)) {
    // The names become local paths: only plain file names in the index's own folder.
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file)) {
      throw new Error(`${indexPath}: weight_map["${tensor}"] is not a safetensors file name`);
    }
    names.add(file);
  }
  return [...names].sort();
}
