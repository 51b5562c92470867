/**
 * A Hugging Face text-encoder folder: `config.json` and its weights, either one
 * `model.safetensors` or shards named by `model.safetensors.index.json` (the real T5-XXL
 * encoder: four fp32 shards, ~19 GB). Only headers are read when opening; each tensor is read
 * from its shard when asked for.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, type SafetensorsEntry } from '../safetensors.ts';
import { toFloat32, type HostTensor } from '../tensor/tensor.ts';
import { parseT5Config, type T5EncoderConfig } from './config.ts';

export const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** What the T5 graph builder reads weights from (T5Weights, or tensors in memory for tests). */
export interface T5WeightReader {
  readonly config: T5EncoderConfig;
  has(name: string): boolean;
  readFloat32(name: string, shape: readonly number[]): Promise<Float32Array>;
}

/** The checkpoint tensor of the token embedding (some files name it `shared.weight`). */
export function embeddingTensor(weights: T5WeightReader): string {
  return weights.has('encoder.embed_tokens.weight')
    ? 'encoder.embed_tokens.weight'
    : 'shared.weight';
}

/** The checkpoint tensors of block `layer`'s four matrices, each [out_k, in]. */
export function blockMatrixTensors(layer: number): Record<'qkv' | 'o' | 'wi' | 'wo', string[]> {
  const attention = `encoder.block.${layer}.layer.0.SelfAttention`;
  const ff = `encoder.block.${layer}.layer.1.DenseReluDense`;
  return {
    qkv: ['q', 'k', 'v'].map((p) => `${attention}.${p}.weight`),
    o: [`${attention}.o.weight`],
    wi: [`${ff}.wi_0.weight`, `${ff}.wi_1.weight`],
    wo: [`${ff}.wo.weight`],
  };
}

export class T5WeightsError extends Error {
  override readonly name = 'T5WeightsError';
}

export class T5Weights {
  private constructor(
    readonly dir: string,
    readonly config: T5EncoderConfig,
    /** The files the weights and config come from (for cache keys), config first. */
    readonly sourceFiles: readonly string[],
    private readonly shardOf: ReadonlyMap<string, SafetensorsFile>,
    private readonly shards: readonly SafetensorsFile[],
  ) {}

  static async open(dir: string): Promise<T5Weights> {
    const configPath = join(dir, 'config.json');
    const configText = await readFile(configPath, 'utf8').catch((error: unknown) => {
      throw new T5WeightsError(`No readable config.json in ${dir}`, { cause: error });
    });
    const config = parseT5Config(configText, configPath);
    const indexPath = join(dir, WEIGHTS_INDEX_FILE);
    const shardNames = await readIndex(indexPath);
    const files =
      shardNames === undefined
        ? [SINGLE_WEIGHTS_FILE]
        : [...new Set(shardNames.values())].sort((a, b) => a.localeCompare(b));
    const shards: SafetensorsFile[] = [];
    try {
      for (const file of files) {
        shards.push(
          await SafetensorsFile.open(join(dir, file)).catch((error: unknown) => {
            throw new T5WeightsError(
              shardNames === undefined
                ? `${dir} has neither ${WEIGHTS_INDEX_FILE} nor a readable ${SINGLE_WEIGHTS_FILE}`
                : `Cannot open weight shard ${file} named by ${indexPath}`,
              { cause: error },
            );
          }),
        );
      }
      const shardOf = new Map<string, SafetensorsFile>();
      for (const shard of shards) {
        for (const name of shard.names) shardOf.set(name, shard);
      }
      if (shardNames !== undefined) {
        for (const [name, file] of shardNames) {
          if (shardOf.get(name)?.path !== join(dir, file)) {
            throw new T5WeightsError(`${indexPath} puts ${name} in ${file}, which lacks it`);
          }
        }
      }
      const sourceFiles = [
        configPath,
        ...(shardNames === undefined ? [] : [indexPath]),
        ...files.map((file) => join(dir, file)),
      ];
      return new T5Weights(dir, config, sourceFiles, shardOf, shards);
    } catch (error) {
      await Promise.all(shards.map((shard) => shard.close()));
      throw error;
    }
  }

  has(name: string): boolean {
    return this.shardOf.has(name);
  }

  entry(name: string): SafetensorsEntry {
    return this.shard(name).entry(name);
  }

  /** Reads one tensor, checking its shape. */
  async read(name: string, shape: readonly number[]): Promise<HostTensor> {
    const actual = this.entry(name).shape;
    if (actual.length !== shape.length || actual.some((dim, index) => dim !== shape[index])) {
      throw new T5WeightsError(
        `${name} in ${this.dir} has shape [${actual.join(', ')}], expected [${shape.join(', ')}] from config.json`,
      );
    }
    return this.shard(name).read(name);
  }

  /** Reads one floating-point tensor as float32 (bf16 and fp16 files are widened). */
  async readFloat32(name: string, shape: readonly number[]): Promise<Float32Array> {
    return toFloat32(await this.read(name, shape));
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.close()));
  }

  private shard(name: string): SafetensorsFile {
    const shard = this.shardOf.get(name);
    if (shard === undefined) {
      throw new T5WeightsError(`The text encoder weights in ${this.dir} have no tensor "${name}"`);
    }
    return shard;
  }
}

/** The index's tensor → shard file map, or undefined when there is no index. */
async function readIndex(path: string): Promise<Map<string, string> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let weightMap: unknown;
  try {
    weightMap = (JSON.parse(text) as { weight_map?: unknown }).weight_map;
  } catch {
    throw new T5WeightsError(`${path} is not valid JSON`);
  }
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new T5WeightsError(`${path} has no weight_map`);
  }
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
      throw new T5WeightsError(`${path} maps ${name} to an invalid file ${JSON.stringify(file)}`);
    }
    map.set(name, file);
  }
  return map;
}
