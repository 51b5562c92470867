/**
 * The settings form's values and their validation against the model's rules (the `modelRules`
 * query), with the messages the form shows. The server checks the same rules; checking them here
 * too tells the user before anything is sent. Pure: tested without a browser.
 */
import type { GenerationSettings, ModelRules, PromptInput } from '../api/operations.ts';

/** What the inputs hold: text, as typed. An empty seed means "pick one at random". */
export interface FormValues {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly width: string;
  readonly height: string;
  readonly numFrames: string;
  readonly frameRate: string;
  readonly seed: string;
  /** How many videos (a batch when more than one, each with its own random seed). */
  readonly count: string;
  /** -10 to 10: higher runs first. */
  readonly priority: string;
}

/** The priorities the form offers, by name. */
export const PRIORITY_CHOICES = [
  { label: 'Low', value: '-5' },
  { label: 'Normal', value: '0' },
  { label: 'High', value: '5' },
] as const;

export type FormField = keyof FormValues;
export type FormErrors = Partial<Record<FormField, string>>;

export const FORM_FIELDS: readonly FormField[] = [
  'prompt',
  'negativePrompt',
  'width',
  'height',
  'numFrames',
  'frameRate',
  'seed',
  'count',
  'priority',
];

/**
 * Whether the model uses a `PromptInput` setting: one it ignores (`modelRules.ignoredSettings`,
 * the negative prompt for LTX-Video 0.9.6-distilled) gets no field and is not sent.
 */
export function usesSetting(rules: Pick<ModelRules, 'ignoredSettings'>, setting: string): boolean {
  return !rules.ignoredSettings.includes(setting);
}

export function defaultValues(rules: Pick<ModelRules, 'defaults'>): FormValues {
  return {
    prompt: '',
    negativePrompt: rules.defaults.negativePrompt,
    width: String(rules.defaults.width),
    height: String(rules.defaults.height),
    numFrames: String(rules.defaults.numFrames),
    frameRate: String(rules.defaults.frameRate),
    seed: '',
    count: '1',
    priority: '0',
  };
}

/** A past job's settings in the form, to edit and run again (with a new seed unless kept). */
export function valuesFromSettings(settings: GenerationSettings, keepSeed = false): FormValues {
  return {
    prompt: settings.prompt,
    negativePrompt: settings.negativePrompt,
    width: String(settings.width),
    height: String(settings.height),
    numFrames: String(settings.numFrames),
    frameRate: String(settings.frameRate),
    seed: keepSeed ? String(settings.seed) : '',
    count: '1',
    priority: '0',
  };
}

/** Latent tokens of a video, as the schema defines them; the model bounds this. */
export function latentTokens(
  rules: Pick<ModelRules, 'sizeMultiple' | 'frameStep'>,
  width: number,
  height: number,
  numFrames: number,
): number {
  return (
    (width / rules.sizeMultiple) *
    (height / rules.sizeMultiple) *
    ((numFrames - 1) / rules.frameStep + 1)
  );
}

function parseWhole(text: string): number | null {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) ? value : null;
}

const number = new Intl.NumberFormat('en-US');

/** The valid values nearest to `value` on the grid `offset + k·multiple` within `range`. */
function nearestOnGrid(
  value: number,
  multiple: number,
  offset: number,
  range: { min: number; max: number },
): number[] {
  const below = Math.floor((value - offset) / multiple) * multiple + offset;
  return [below, below + multiple].filter(
    (candidate) => candidate >= range.min && candidate <= range.max,
  );
}

function orList(values: readonly number[]): string {
  return values.map((value) => number.format(value)).join(' or ');
}

interface Checked {
  readonly value: number | null;
  readonly error?: string;
}

function checkWhole(
  label: string,
  unit: string,
  text: string,
  range: { min: number; max: number },
): Checked {
  const value = parseWhole(text);
  if (value === null) return { value: null, error: `${label} must be a whole number${unit}.` };
  if (value < range.min || value > range.max) {
    return {
      value: null,
      error: `${label} must be from ${number.format(range.min)} to ${number.format(range.max)}${unit}.`,
    };
  }
  return { value };
}

function checkSize(
  label: string,
  text: string,
  range: ModelRules['width'],
  multiple: number,
): Checked {
  const checked = checkWhole(label, ' pixels', text, range);
  if (checked.value === null || checked.value % multiple === 0) return checked;
  const nearest = nearestOnGrid(checked.value, multiple, 0, range);
  return {
    value: null,
    error: `${label} must be a multiple of ${multiple}${nearest.length > 0 ? ` (try ${orList(nearest)})` : ''}.`,
  };
}

/**
 * Checks every field. Returns the `PromptInput` to send (and how many videos of it) when all are
 * valid, and otherwise one message per invalid field, naming the rule and, where it helps, the
 * nearest valid values. `maxBatch`: the most videos one submission may make.
 */
export function validateForm(
  values: FormValues,
  rules: ModelRules,
  maxBatch = 1,
): { readonly input: PromptInput | null; readonly count: number; readonly errors: FormErrors } {
  const errors: Record<string, string> = {};

  const prompt = values.prompt.trim();
  const tooLong = (label: string, text: string): string =>
    `${label} is too long: ${number.format(text.length)} characters, at most ` +
    `${number.format(rules.maxPromptChars)}.`;
  if (prompt === '') {
    errors['prompt'] = 'Write a prompt: it says what the video shows.';
  } else if (prompt.length > rules.maxPromptChars) {
    errors['prompt'] = tooLong('The prompt', prompt);
  }
  const sendsNegativePrompt = usesSetting(rules, 'negativePrompt');
  if (sendsNegativePrompt && values.negativePrompt.length > rules.maxPromptChars) {
    errors['negativePrompt'] = tooLong('The negative prompt', values.negativePrompt);
  }

  const width = checkSize('Width', values.width, rules.width, rules.sizeMultiple);
  const height = checkSize('Height', values.height, rules.height, rules.sizeMultiple);
  let frames = checkWhole('Frames', '', values.numFrames, rules.numFrames);
  if (frames.value !== null && (frames.value - 1) % rules.frameStep !== 0) {
    const nearest = nearestOnGrid(frames.value, rules.frameStep, 1, rules.numFrames);
    frames = {
      value: null,
      error:
        `Frames must be ${rules.frameStep}k + 1` +
        `${nearest.length > 0 ? ` (try ${orList(nearest)})` : ''}.`,
    };
  }
  const frameRate = checkWhole('Frame rate', ' fps', values.frameRate, rules.frameRate);
  const seed: Checked =
    values.seed.trim() === '' ? { value: null } : checkWhole('Seed', '', values.seed, rules.seed);
  let count = checkWhole('Videos', '', values.count, { min: 1, max: Math.max(1, maxBatch) });
  if (count.value !== null && count.value > 1 && seed.value !== null) {
    count = {
      value: null,
      error: 'One seed makes one video: leave the seed empty to make several, each its own.',
    };
  }
  const priority = checkWhole('Priority', '', values.priority, { min: -10, max: 10 });

  for (const [field, checked] of [
    ['width', width],
    ['height', height],
    ['numFrames', frames],
    ['frameRate', frameRate],
    ['seed', seed],
    ['count', count],
    ['priority', priority],
  ] as const) {
    if (checked.error !== undefined) errors[field] = checked.error;
  }

  if (width.value !== null && height.value !== null && frames.value !== null) {
    const tokens = latentTokens(rules, width.value, height.value, frames.value);
    if (tokens > rules.maxLatentTokens) {
      errors['numFrames'] =
        `${width.value}×${height.value} with ${frames.value} frames is ` +
        `${number.format(tokens)} latent tokens; the model allows at most ` +
        `${number.format(rules.maxLatentTokens)}: use fewer frames or a smaller size.`;
    }
  }

  const videos = count.value ?? 1;
  if (Object.keys(errors).length > 0 || width.value === null || height.value === null) {
    return { input: null, count: videos, errors };
  }
  if (frames.value === null || frameRate.value === null) {
    return { input: null, count: videos, errors };
  }
  return {
    count: videos,
    input: {
      prompt,
      ...(sendsNegativePrompt ? { negativePrompt: values.negativePrompt } : {}),
      width: width.value,
      height: height.value,
      numFrames: frames.value,
      frameRate: frameRate.value,
      ...(seed.value === null ? {} : { seed: seed.value }),
      ...(priority.value === null || priority.value === 0 ? {} : { priority: priority.value }),
    },
    errors,
  };
}

/** The rule of each setting in words, shown under its input before anything is submitted. */
export function ruleHints(
  rules: ModelRules,
  maxBatch = 1,
): Record<Exclude<FormField, 'prompt' | 'negativePrompt'>, string> {
  const size = (range: ModelRules['width']): string =>
    `Multiple of ${rules.sizeMultiple}, ${range.min}–${range.max} px`;
  return {
    width: size(rules.width),
    height: size(rules.height),
    numFrames: `${rules.frameStep}k + 1, ${rules.numFrames.min}–${rules.numFrames.max}`,
    frameRate: `${rules.frameRate.min}–${rules.frameRate.max} fps`,
    seed: `Empty for a random one, or ${rules.seed.min}–${number.format(rules.seed.max)}`,
    count: `1–${maxBatch}, each with its own random seed`,
    priority: 'Higher runs first, when this Zeus lets you raise it',
  };
}
