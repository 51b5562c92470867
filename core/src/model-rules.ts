/**
 * The rules a generation request must follow for each model, in one pure module: the server
 * validates `PromptInput` against them and the `modelRules` query shows them to users.
 */

/** Models a worker can run (`ZEUS_MODEL`). */
export const MODEL_NAMES = ['ltxv-2b-0.9.6-distilled', 'tiny-random'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export const DEFAULT_MODEL: ModelName = 'ltxv-2b-0.9.6-distilled';

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** The settings a job gets when the request leaves them out (the seed is drawn at random). */
export interface GenerationDefaults {
  readonly negativePrompt: string;
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
  readonly frameRate: number;
}

export interface ModelRules {
  readonly model: ModelName;
  readonly defaults: GenerationDefaults;
  /** Width and height must be multiples of this: the VAE compresses 32×32 pixels to one latent. */
  readonly sizeMultiple: number;
  readonly width: IntRange;
  readonly height: IntRange;
  /** Frame counts are `frameStep·k + 1`: the VAE compresses 8 frames (after the first) to one. */
  readonly frameStep: number;
  readonly numFrames: IntRange;
  readonly frameRate: IntRange;
  readonly seed: IntRange;
  /**
   * The text encoder's context, end-of-text token included: longer prompts are refused (the
   * official pipeline would silently cut them). Counted with the model's own tokenizer.
   */
  readonly maxPromptTokens: number;
  /**
   * The bound on prompts while the tokenizer's files are not there yet (a server started before
   * the worker downloaded the model): about four characters per token of English text, so 1024
   * characters stay near `maxPromptTokens`. A stand-in for counting tokens, not an equivalent;
   * the worker still refuses a prompt over the token limit.
   */
  readonly maxPromptChars: number;
  /** The transformer's attention cost grows with the square of this; it bounds memory and time. */
  readonly maxLatentTokens: number;
  /** Denoising steps every job runs (the distilled model is trained for 8). */
  readonly steps: number;
  /**
   * Settings a request may carry that this model does not read: the video is the same whatever
   * they hold. They are still accepted, checked and recorded, so older clients keep working.
   */
  readonly ignoredSettings: readonly IgnorableSetting[];
  /** A size for each common shape, near the size the model does best (see `sizePresets`). */
  readonly sizePresets: readonly SizePreset[];
}

/** Request settings a model may ignore. */
export type IgnorableSetting = 'negativePrompt';

/** A shape and the size the model makes it at. */
export interface SizePreset {
  /** `width:height` in small numbers: `16:9`. */
  readonly aspect: string;
  readonly width: number;
  readonly height: number;
}

/** The shapes offered, landscape to portrait. */
export const PRESET_ASPECTS: readonly (readonly [number, number])[] = [
  [21, 9],
  [16, 9],
  [3, 2],
  [4, 3],
  [1, 1],
  [3, 4],
  [2, 3],
  [9, 16],
];

/** How far a preset's shape may be from the exact ratio (1.5 % for 4:3 at 736×544). */
const MAX_ASPECT_ERROR = 0.03;

/**
 * For each shape, the allowed size (multiples of `sizeMultiple` within the limits) closest to
 * the default size's area, which is what the model was trained at (LTX-Video: 768×512, about
 * 0.39 megapixels; quality falls off away from it, and time grows with it). Among sizes within
 * 3 % of the shape, an error in shape counts four times an equal (logarithmic) error in area:
 * people notice a stretched frame more than 5 % more pixels. Pure.
 */
export function sizePresets(
  rules: Pick<ModelRules, 'defaults' | 'sizeMultiple' | 'width' | 'height'>,
  aspects: readonly (readonly [number, number])[] = PRESET_ASPECTS,
): SizePreset[] {
  const area = rules.defaults.width * rules.defaults.height;
  const step = rules.sizeMultiple;
  const onGrid = (range: IntRange): number[] => {
    const values: number[] = [];
    for (let value = Math.ceil(range.min / step) * step; value <= range.max; value += step) {
      values.push(value);
    }
    return values;
  };
  const widths = onGrid(rules.width);
  const heights = onGrid(rules.height);
  return aspects.flatMap(([across, down]) => {
    const ratio = across / down;
    let best: { width: number; height: number; score: number } | null = null;
    for (const height of heights) {
      for (const width of widths) {
        const shapeError = Math.abs(Math.log(width / height / ratio));
        if (shapeError > MAX_ASPECT_ERROR) continue;
        const score = 4 * shapeError + Math.abs(Math.log((width * height) / area));
        if (best === null || score < best.score) best = { width, height, score };
      }
    }
    return best === null
      ? []
      : [{ aspect: `${across}:${down}`, width: best.width, height: best.height }];
  });
}

const LTX_VIDEO_LIMITS: Omit<ModelRules, 'model' | 'ignoredSettings' | 'sizePresets'> = {
  defaults: {
    negativePrompt: 'worst quality, inconsistent motion, blurry, jittery, distorted',
    width: 768,
    height: 512,
    numFrames: 121,
    frameRate: 25,
  },
  sizeMultiple: 32,
  width: { min: 64, max: 1280 },
  height: { min: 64, max: 1280 },
  frameStep: 8,
  numFrames: { min: 9, max: 257 },
  frameRate: { min: 1, max: 60 },
  seed: { min: 0, max: 2_147_483_647 },
  maxPromptTokens: 256,
  maxPromptChars: 1024,
  maxLatentTokens: 16_384,
  steps: 8,
};

const LTX_VIDEO_RULES: Omit<ModelRules, 'model'> = {
  ...LTX_VIDEO_LIMITS,
  // 0.9.6-distilled is distilled to run without classifier-free guidance (scale 1, no STG):
  // the official pipeline encodes a negative prompt but never lets it reach the transformer,
  // and Zeus's pipeline does not encode it at all (docs/model/pipeline.md, 2.3).
  ignoredSettings: ['negativePrompt'],
  sizePresets: sizePresets(LTX_VIDEO_LIMITS),
};

/**
 * `tiny-random` has the structure of the real model (same compression factors and limits), so
 * it follows the same rules: tests exercise the same validation users get.
 */
export function modelRules(model: ModelName): ModelRules {
  return { model, ...LTX_VIDEO_RULES };
}

/** Latent tokens of a video: one per 32×32 pixels per 8 frames (plus the first frame). */
export function latentTokens(
  rules: Pick<ModelRules, 'sizeMultiple' | 'frameStep'>,
  size: { readonly width: number; readonly height: number; readonly numFrames: number },
): number {
  const latentFrames = Math.floor((size.numFrames - 1) / rules.frameStep) + 1;
  return (
    Math.floor(size.width / rules.sizeMultiple) *
    Math.floor(size.height / rules.sizeMultiple) *
    latentFrames
  );
}
