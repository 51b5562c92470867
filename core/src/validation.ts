/**
 * Checks a generation request against the model's rules and fills in defaults. Pure: the seed
 * drawn for requests without one comes from the caller.
 */
import { InvalidInputError, type FieldProblem } from './errors.ts';
import type { GenerationSettings } from './job.ts';
import { latentTokens, type IntRange, type ModelRules } from './model-rules.ts';

/** A request as it arrives from the API: everything but the prompt may be absent or null. */
export interface PromptRequest {
  readonly prompt: string;
  readonly negativePrompt?: string | null | undefined;
  readonly width?: number | null | undefined;
  readonly height?: number | null | undefined;
  readonly numFrames?: number | null | undefined;
  readonly frameRate?: number | null | undefined;
  readonly seed?: number | null | undefined;
  /** Live previews (default on). */
  readonly preview?: boolean | null | undefined;
}

/** Stable names of the rules, reported as `extensions.rule`. */
export type ValidationRule =
  | 'required'
  | 'maxLength'
  | 'maxTokens'
  | 'characters'
  | 'integer'
  | 'range'
  | 'multipleOf'
  | 'frameStep'
  | 'maxLatentTokens';

/**
 * Tokens a text takes in the model's text encoder, end-of-text token included (the model's own
 * tokenizer). Absent while the tokenizer's files are not there yet: texts are then bounded by
 * `maxPromptChars`.
 */
export type TokenCounter = (text: string) => number;

/** The longest piece in T5's SentencePiece vocabulary, in characters. */
const MAX_TOKEN_CHARS = 16;

/**
 * The most characters a text may have to be tokenized at all: `maxPromptTokens` tokens of the
 * longest piece. A longer text cannot be within the token limit (bar runs of spaces, which the
 * tokenizer folds), so it is refused by its length, without the tokenizer's work.
 */
export function maxTokenizedChars(rules: Pick<ModelRules, 'maxPromptTokens'>): number {
  return rules.maxPromptTokens * MAX_TOKEN_CHARS;
}

/**
 * Characters a prompt may not hold: control characters other than tab and line breaks (C0, DEL,
 * C1), and halves of surrogate pairs (not text; the tokenizer and logs cannot take them).
 */
const FORBIDDEN_CHARACTER =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The first character of `text` a prompt may not hold, as `U+XXXX` with its position; or null. */
export function forbiddenCharacter(text: string): { codePoint: string; index: number } | null {
  const match = FORBIDDEN_CHARACTER.exec(text);
  if (match === null) return null;
  const code = match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return { codePoint: `U+${code}`, index: match.index };
}

export function validatePromptRequest(
  request: PromptRequest,
  rules: ModelRules,
  drawSeed: () => number,
  countTokens?: TokenCounter,
): GenerationSettings {
  const problems: FieldProblem[] = [];
  const problem = (field: string, rule: ValidationRule, message: string): void => {
    problems.push({ field, rule, message });
  };

  const checkText = (field: string, text: string): void => {
    const forbidden = forbiddenCharacter(text);
    if (forbidden !== null) {
      problem(
        field,
        'characters',
        `${field} must not contain control characters (found ${forbidden.codePoint} at ` +
          `position ${forbidden.index}); remove it. Tabs and line breaks are allowed.`,
      );
    }
    if (countTokens !== undefined && text.length > maxTokenizedChars(rules)) {
      // Too long to be within the limit whatever its tokens: refused before tokenizing, so a
      // long text costs no more than a short one.
      problem(
        field,
        'maxLength',
        `${field} must be at most ${maxTokenizedChars(rules)} characters (got ${text.length}); ` +
          `the model reads at most ${rules.maxPromptTokens} tokens.`,
      );
    } else if (countTokens !== undefined) {
      // A text with a forbidden character is refused already: no need to tokenise it.
      const tokens = forbidden === null ? countTokens(text) : 0;
      if (tokens > rules.maxPromptTokens) {
        problem(
          field,
          'maxTokens',
          `${field} has ${tokens} tokens (counting the end-of-text token); the model reads at ` +
            `most ${rules.maxPromptTokens}. Shorten it by ${tokens - rules.maxPromptTokens}.`,
        );
      }
    } else if (text.length > rules.maxPromptChars) {
      problem(
        field,
        'maxLength',
        `${field} must be at most ${rules.maxPromptChars} characters (got ${text.length}).`,
      );
    }
  };
  if (request.prompt.trim() === '') {
    problem('prompt', 'required', 'prompt must not be blank.');
  }
  checkText('prompt', request.prompt);
  const negativePrompt = request.negativePrompt ?? rules.defaults.negativePrompt;
  checkText('negativePrompt', negativePrompt);

  /** Checks an integer setting; returns false when later rules on it would be noise. */
  const checkRange = (field: string, value: number, range: IntRange): boolean => {
    if (!Number.isSafeInteger(value)) {
      problem(field, 'integer', `${field} must be a whole number (got ${value}).`);
      return false;
    }
    if (value < range.min || value > range.max) {
      problem(
        field,
        'range',
        `${field} must be between ${range.min} and ${range.max} (got ${value}).`,
      );
      return false;
    }
    return true;
  };

  const width = request.width ?? rules.defaults.width;
  const height = request.height ?? rules.defaults.height;
  const numFrames = request.numFrames ?? rules.defaults.numFrames;
  const frameRate = request.frameRate ?? rules.defaults.frameRate;
  const seed = request.seed ?? drawSeed();

  let sizeValid = true;
  for (const [field, value, range] of [
    ['width', width, rules.width],
    ['height', height, rules.height],
  ] as const) {
    if (!checkRange(field, value, range)) {
      sizeValid = false;
    } else if (value % rules.sizeMultiple !== 0) {
      sizeValid = false;
      problem(
        field,
        'multipleOf',
        `${field} must be a multiple of ${rules.sizeMultiple} (got ${value}).`,
      );
    }
  }
  if (!checkRange('numFrames', numFrames, rules.numFrames)) {
    sizeValid = false;
  } else if ((numFrames - 1) % rules.frameStep !== 0) {
    sizeValid = false;
    const lower = numFrames - ((numFrames - 1) % rules.frameStep);
    const nearest = lower < rules.numFrames.min ? lower + rules.frameStep : lower;
    problem(
      'numFrames',
      'frameStep',
      `numFrames must be of the form ${rules.frameStep}k+1, for example ${nearest} (got ${numFrames}).`,
    );
  }
  checkRange('frameRate', frameRate, rules.frameRate);
  checkRange('seed', seed, rules.seed);

  if (sizeValid) {
    const tokens = latentTokens(rules, { width, height, numFrames });
    if (tokens > rules.maxLatentTokens) {
      problem(
        'numFrames',
        'maxLatentTokens',
        `width × height × numFrames is too large: ${tokens} latent tokens, at most ` +
          `${rules.maxLatentTokens} (${rules.sizeMultiple}×${rules.sizeMultiple} pixels × ` +
          `${rules.frameStep} frames each). Lower the size or the number of frames.`,
      );
    }
  }

  if (problems.length > 0) throw new InvalidInputError(problems);
  return {
    prompt: request.prompt,
    negativePrompt,
    width,
    height,
    numFrames,
    frameRate,
    seed,
    // Stored only when off, so records and comparisons of default jobs stay as they were.
    ...(request.preview === false ? { preview: false } : {}),
  };
}

/** A seed for requests without one, uniformly from the model's seed range. */
export function randomSeed(rules: Pick<ModelRules, 'seed'>): number {
  const span = rules.seed.max - rules.seed.min + 1;
  return rules.seed.min + Math.floor(Math.random() * span);
}
