/**
 * The models Zeus can run (`ZEUS_MODEL`) and where their files come from: the real
 * LTX-Video 2B 0.9.6-distilled from the Hugging Face Hub, pinned to commits, or the
 * "tiny-random" set that Zeus generates itself with the same formats and structure.
 */

import { MODEL_NAMES, type ModelName } from '@zeus/core/model-rules';

// The names are the API's (core's model rules): one list for the server, the worker and this.
export { DEFAULT_MODEL, MODEL_NAMES, type ModelName } from '@zeus/core/model-rules';

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * PINNED REVISIONS. Every Hub file is fetched at these commits, so the same bytes arrive on
 * every machine and the Hub's reported hashes stay valid.
 *
 * They were taken from public code that pins these repositories (Hugging Face cache
 * snapshot names), not read from the Hub itself, which this project's build machines cannot
 * reach: `PIXART_REVISION` is widely used for the PixArt text encoder and tokenizer;
 * `LTX_VIDEO_REVISION` is a commit of `Lightricks/LTX-Video` from after the 0.9.8 release,
 * which should still hold the 0.9.6-distilled file. If the Hub answers that the file is not
 * found at this revision, replace it with the current commit of `main`
 * (`https://huggingface.co/api/models/Lightricks/LTX-Video/revision/main` → `sha`).
 */
export const LTX_VIDEO_REVISION = '8984fa25007f376c1a299016d0957a37a2f797bb';
export const PIXART_REVISION = 'b89adadeccd9ead2adcb9fa2825d3fabec48d404';

export const LTX_VIDEO_REPO = 'Lightricks/LTX-Video';
export const LTX_CHECKPOINT_FILE = 'ltxv-2b-0.9.6-distilled-04-25.safetensors';
export const TEXT_ENCODER_REPO = 'PixArt-alpha/PixArt-XL-2-1024-MS';

/** Sub-folders of a model's directory (see store/model-files.ts). */
export const CHECKPOINT_DIR = 'checkpoint';
export const TEXT_ENCODER_DIR = 'text_encoder';
export const TOKENIZER_DIR = 'tokenizer';
/** Converted ONNX graphs, next to the weights they come from. */
export const ONNX_DIR = 'onnx';

/** The sharded T5 weights' index; its `weight_map` names the shard files. */
export const TEXT_ENCODER_INDEX = 'model.safetensors.index.json';
export const TOKENIZER_FILES = [
  'spiece.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
] as const;

/** A file of a Hub repository and where it goes in the model's directory. */
export interface HubFileSpec {
  readonly repo: string;
  readonly revision: string;
  /** Path in the repository. */
  readonly path: string;
  /** Path in the model's directory ("/"-separated). */
  readonly target: string;
  /**
   * For a `model.safetensors.index.json`: the shard files its `weight_map` names (in the same
   * repository folder) are part of the model too. The shard count is read from the index
   * rather than written here, so it can never disagree with the repository.
   */
  readonly shardIndex?: boolean;
}

export interface HubModelSpec {
  readonly kind: 'hub';
  readonly name: ModelName;
  /** The single-file checkpoint (transformer + VAE, `__metadata__.config`). */
  readonly checkpoint: HubFileSpec;
  readonly files: readonly HubFileSpec[];
}

export interface GeneratedModelSpec {
  readonly kind: 'generated';
  readonly name: ModelName;
  /** Seed of the generator: the same seed gives the same bytes. */
  readonly seed: number;
  /** Name of the checkpoint file in `checkpoint/`. */
  readonly checkpointFile: string;
}

export type ModelSpec = HubModelSpec | GeneratedModelSpec;

function pixartFile(path: string, extra: Partial<HubFileSpec> = {}): HubFileSpec {
  return { repo: TEXT_ENCODER_REPO, revision: PIXART_REVISION, path, target: path, ...extra };
}

const LTX_CHECKPOINT: HubFileSpec = {
  repo: LTX_VIDEO_REPO,
  revision: LTX_VIDEO_REVISION,
  path: LTX_CHECKPOINT_FILE,
  target: `${CHECKPOINT_DIR}/${LTX_CHECKPOINT_FILE}`,
};

const SPECS: Readonly<Record<ModelName, ModelSpec>> = {
  'ltxv-2b-0.9.6-distilled': {
    kind: 'hub',
    name: 'ltxv-2b-0.9.6-distilled',
    checkpoint: LTX_CHECKPOINT,
    files: [
      LTX_CHECKPOINT,
      pixartFile(`${TEXT_ENCODER_DIR}/config.json`),
      pixartFile(`${TEXT_ENCODER_DIR}/${TEXT_ENCODER_INDEX}`, { shardIndex: true }),
      ...TOKENIZER_FILES.map((name) => pixartFile(`${TOKENIZER_DIR}/${name}`)),
    ],
  },
  'tiny-random': {
    kind: 'generated',
    name: 'tiny-random',
    seed: 20_250_425,
    checkpointFile: 'ltxv-tiny-random.safetensors',
  },
};

export function modelSpec(name: ModelName): ModelSpec {
  return SPECS[name];
}
