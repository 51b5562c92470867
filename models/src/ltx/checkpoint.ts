/**
 * The LTX-Video single-file checkpoint (docs/model/pipeline.md §1): a safetensors file whose
 * `__metadata__.config` JSON holds the transformer, VAE and scheduler configs, with the
 * transformer's tensors under `model.diffusion_model.` and the VAE's under `vae.`.
 *
 *   const checkpoint = await LtxCheckpoint.open(path);   // parses and validates the config
 *   checkpoint.checkTransformerTensors();                 // every tensor present, right shape
 *   const w = await checkpoint.readTransformer('proj_out.weight');
 */
import { SafetensorsFile, type SafetensorsEntry } from '../safetensors.ts';
import type { HostTensor } from '../tensor/tensor.ts';
import { toFloat32 } from '../tensor/tensor.ts';
import {
  CheckpointError,
  parseLtxCheckpointConfig,
  type LtxCheckpointConfig,
  type LtxTransformerConfig,
} from './checkpoint-config.ts';

export const TRANSFORMER_PREFIX = 'model.diffusion_model.';
export const VAE_PREFIX = 'vae.';

/** Every transformer tensor the config implies (names without the prefix), with its shape. */
export function transformerTensorShapes(config: LtxTransformerConfig): Map<string, number[]> {
  const d = config.innerDim;
  const shapes = new Map<string, number[]>();
  const linear = (name: string, out: number, inputs: number): void => {
    shapes.set(`${name}.weight`, [out, inputs]);
    shapes.set(`${name}.bias`, [out]);
  };
  linear('patchify_proj', d, config.inChannels);
  linear('adaln_single.emb.timestep_embedder.linear_1', d, TIMESTEP_FEATURES);
  linear('adaln_single.emb.timestep_embedder.linear_2', d, d);
  linear('adaln_single.linear', 6 * d, d);
  linear('caption_projection.linear_1', d, config.captionChannels);
  linear('caption_projection.linear_2', d, d);
  for (let i = 0; i < config.numLayers; i++) {
    const block = `transformer_blocks.${i}`;
    shapes.set(`${block}.scale_shift_table`, [6, d]);
    for (const attention of ['attn1', 'attn2']) {
      const contextDim = attention === 'attn1' ? d : config.crossAttentionDim;
      linear(`${block}.${attention}.to_q`, d, d);
      linear(`${block}.${attention}.to_k`, d, contextDim);
      linear(`${block}.${attention}.to_v`, d, contextDim);
      linear(`${block}.${attention}.to_out.0`, d, d);
      shapes.set(`${block}.${attention}.q_norm.weight`, [d]);
      shapes.set(`${block}.${attention}.k_norm.weight`, [d]);
    }
    linear(`${block}.ff.net.0.proj`, 4 * d, d);
    linear(`${block}.ff.net.2`, d, 4 * d);
  }
  shapes.set('scale_shift_table', [2, d]);
  linear('proj_out', config.outChannels, d);
  return shapes;
}

/** Width of the sinusoidal timestep features fed to the timestep embedder. */
export const TIMESTEP_FEATURES = 256;

const FLOAT_DTYPES = new Set(['float32', 'float16', 'bfloat16']);

export class LtxCheckpoint {
  private constructor(
    readonly path: string,
    readonly file: SafetensorsFile,
    readonly config: LtxCheckpointConfig,
  ) {}

  /** Opens the file (header only) and parses its config; tensors are read on demand. */
  static async open(path: string): Promise<LtxCheckpoint> {
    const file = await SafetensorsFile.open(path);
    try {
      return new LtxCheckpoint(path, file, parseLtxCheckpointConfig(file.metadata['config'], path));
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /**
   * Checks that the file holds exactly the transformer tensors the config implies, each a
   * float tensor of the right shape, reporting every problem in one error.
   */
  checkTransformerTensors(): void {
    const expected = transformerTensorShapes(this.config.transformer);
    const problems: string[] = [];
    for (const [name, shape] of expected) {
      const entry = this.file.entries.get(TRANSFORMER_PREFIX + name);
      if (entry === undefined) {
        problems.push(`Tensor ${TRANSFORMER_PREFIX}${name} [${shape.join(', ')}] is missing.`);
      } else if (!sameShape(entry.shape, shape)) {
        problems.push(
          `Tensor ${entry.name} has shape [${entry.shape.join(', ')}], expected [${shape.join(', ')}].`,
        );
      } else if (!FLOAT_DTYPES.has(entry.dtype)) {
        problems.push(`Tensor ${entry.name} is ${entry.dtype}, expected a float tensor.`);
      }
    }
    for (const name of this.transformerNames()) {
      if (!expected.has(name)) {
        problems.push(`Tensor ${TRANSFORMER_PREFIX}${name} is not part of this transformer.`);
      }
    }
    if (problems.length > 0) throw new CheckpointError('bad-tensors', this.path, problems);
  }

  /** Transformer tensor names, without the prefix. */
  transformerNames(): string[] {
    return this.namesUnder(TRANSFORMER_PREFIX);
  }

  /** VAE tensor names (including `per_channel_statistics.*`), without the prefix. */
  vaeNames(): string[] {
    return this.namesUnder(VAE_PREFIX);
  }

  transformerEntry(name: string): SafetensorsEntry {
    return this.entry(TRANSFORMER_PREFIX, name);
  }

  vaeEntry(name: string): SafetensorsEntry {
    return this.entry(VAE_PREFIX, name);
  }

  /** A transformer tensor by its state-dict name (e.g. 'proj_out.weight'), as stored. */
  async readTransformer(name: string): Promise<HostTensor> {
    return this.file.read(this.transformerEntry(name).name);
  }

  async readTransformerFloat32(name: string): Promise<Float32Array> {
    return toFloat32(await this.readTransformer(name));
  }

  /** A VAE tensor by its state-dict name (e.g. 'decoder.conv_in.conv.weight'), as stored. */
  async readVae(name: string): Promise<HostTensor> {
    return this.file.read(this.vaeEntry(name).name);
  }

  async readVaeFloat32(name: string): Promise<Float32Array> {
    return toFloat32(await this.readVae(name));
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private namesUnder(prefix: string): string[] {
    return this.file.names
      .filter((name) => name.startsWith(prefix))
      .map((name) => name.slice(prefix.length));
  }

  private entry(prefix: string, name: string): SafetensorsEntry {
    const entry = this.file.entries.get(prefix + name);
    if (entry === undefined) {
      throw new CheckpointError('bad-tensors', this.path, [`Tensor ${prefix}${name} is missing.`]);
    }
    return entry;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, index) => dim === b[index]);
}
