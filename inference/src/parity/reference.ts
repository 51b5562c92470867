/**
 * A reference directory in the layout of tests/fixtures/ltx/golden: `checkpoint.safetensors`,
 * `text_encoder/`, `tokenizer/`, `vectors.safetensors` (every reference tensor by name),
 * `manifest.json` (run settings, configs, tolerances) and `tokenizer_cases.json`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, toBigInt64, toFloat32 } from '@zeus/models';

export interface ReferenceManifest {
  readonly run: {
    readonly height: number;
    readonly width: number;
    readonly num_frames: number;
    readonly frame_rate: number;
    readonly seed: number;
    readonly latent_shape: readonly number[];
    readonly num_tokens: number;
    readonly prompt: string;
    readonly negative_prompt: string;
    readonly text_encoder_max_tokens: number;
    readonly timesteps: readonly number[];
    readonly rng_draw_order: readonly {
      readonly name: string;
      readonly shape: readonly number[];
    }[];
    readonly pipeline_config: Readonly<Record<string, unknown>>;
    readonly [key: string]: unknown;
  };
  readonly configs: Readonly<Record<string, unknown>>;
  readonly tolerances_max_abs_fp32: Readonly<Record<string, number | string>>;
  /** Optional fp16 bounds by the same keys (parity/tolerances.ts derives them otherwise). */
  readonly tolerances_max_abs_fp16?: Readonly<Record<string, number | string>>;
  readonly tensors: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly dtype: string;
  }[];
}

export class Reference {
  private constructor(
    readonly dir: string,
    readonly manifest: ReferenceManifest,
    private readonly vectors: SafetensorsFile,
  ) {}

  static async open(dir: string): Promise<Reference> {
    const manifest = JSON.parse(
      await readFile(join(dir, 'manifest.json'), 'utf8'),
    ) as ReferenceManifest;
    const vectors = await SafetensorsFile.open(join(dir, 'vectors.safetensors'));
    return new Reference(dir, manifest, vectors);
  }

  get checkpointPath(): string {
    return join(this.dir, 'checkpoint.safetensors');
  }

  get textEncoderDir(): string {
    return join(this.dir, 'text_encoder');
  }

  get tokenizerDir(): string {
    return join(this.dir, 'tokenizer');
  }

  has(name: string): boolean {
    return this.vectors.has(name);
  }

  shape(name: string): readonly number[] {
    return this.vectors.entry(name).shape;
  }

  /** A floating-point reference tensor as float32. */
  async float32(name: string): Promise<Float32Array> {
    return toFloat32(await this.vectors.read(name));
  }

  /** An int64 reference tensor. */
  async int64(name: string): Promise<BigInt64Array> {
    return toBigInt64(await this.vectors.read(name));
  }

  /** A uint8 reference tensor. */
  async uint8(name: string): Promise<Uint8Array> {
    const tensor = await this.vectors.read(name);
    if (tensor.dtype !== 'uint8') throw new Error(`${name} is ${tensor.dtype}, not uint8`);
    return tensor.bytes;
  }

  /** The manifest's max-abs tolerance for a tensor name pattern such as "transformer.*". */
  tolerance(pattern: string, fallback: number): number {
    const value = this.manifest.tolerances_max_abs_fp32[pattern];
    return typeof value === 'number' ? value : fallback;
  }

  async close(): Promise<void> {
    await this.vectors.close();
  }
}
