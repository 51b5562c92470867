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
}

const LTX_VIDEO_RULES: Omit<ModelRules, 'model'> = {
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
