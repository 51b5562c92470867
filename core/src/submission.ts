/**
 * Checks a whole submission, pure: the generation settings (validation.ts), the priority, the
 * webhook, and for a batch its prompts, seeds and size. Every problem is reported at once in one
 * `InvalidInputError`, each naming its field (`prompts.2`, `seeds.0` for list entries).
 * Whether the caller may use the priority is decided apart (priority.ts): that is FORBIDDEN,
 * not bad input.
 */
import { InvalidInputError, type FieldProblem } from './errors.ts';
import {
  PRIORITY_RANGE,
  type GenerationSettings,
  type JobWebhook,
  type WebhookEventSet,
} from './job.ts';
import type { ModelRules } from './model-rules.ts';
import { validatePromptRequest, type PromptRequest, type TokenCounter } from './validation.ts';
import { checkWebhookUrl, jobWebhook } from './webhooks.ts';

/** `PromptInput` as it arrives. */
export interface SubmissionRequest extends PromptRequest {
  readonly priority?: number | null | undefined;
  readonly webhookUrl?: string | null | undefined;
  readonly webhookEvents?: WebhookEventSet | null | undefined;
}

/** `BatchInput` as it arrives. */
export interface BatchRequest {
  readonly settings: SubmissionRequest;
  readonly prompts?: readonly string[] | null | undefined;
  readonly seeds?: readonly number[] | null | undefined;
  readonly count?: number | null | undefined;
}

/** One job to create. */
export interface Submission {
  readonly settings: GenerationSettings;
  readonly priority: number;
  readonly webhook: JobWebhook | null;
}

export interface SubmissionRules {
  readonly rules: ModelRules;
  readonly drawSeed: () => number;
  readonly countTokens?: TokenCounter | undefined;
  /** Webhooks are on (a signing secret is set), and whether private addresses may get them. */
  readonly webhooks: { readonly enabled: boolean; readonly allowPrivate: boolean };
  /** The most jobs one batch may have. */
  readonly maxBatch: number;
}

/** The settings, priority and webhook of one `submitPrompt`; throws with every problem. */
export function validateSubmission(request: SubmissionRequest, rules: SubmissionRules): Submission {
  const problems: FieldProblem[] = [];
  const submission = collect(request, rules, problems);
  if (submission === null || problems.length > 0) throw new InvalidInputError(problems);
  return submission;
}

/**
 * The jobs of one `submitBatch`: each prompt (`settings.prompt`, then `prompts`) with each seed
 * (`seeds`, `count` random ones, or `settings.seed`); throws with every problem.
 */
export function validateBatch(request: BatchRequest, given: SubmissionRules): Submission[] {
  // Every prompt is checked with the shared negative prompt: each distinct text is tokenized
  // once per batch.
  const rules: SubmissionRules = { ...given, countTokens: memoized(given.countTokens) };
  const problems: FieldProblem[] = [];
  const problem = (field: string, rule: string, message: string): void => {
    problems.push({ field, rule, message });
  };
  const { settings, prompts = [], seeds, count } = request;
  const prefixed = (prefix: string, found: readonly FieldProblem[]): FieldProblem[] =>
    found.map((p) => ({ ...p, field: `${prefix}.${p.field}` }));

  const base: FieldProblem[] = [];
  const first = collect(settings, rules, base);
  problems.push(...prefixed('settings', base));

  if (seeds != null && count != null) {
    problem('count', 'conflict', 'Give seeds or count, not both.');
  }
  if (settings.seed != null && (seeds != null || count != null)) {
    problem(
      'settings.seed',
      'conflict',
      'settings.seed gives every job the same seed: leave it out when giving seeds or count.',
    );
  }
  if (seeds?.length === 0) problem('seeds', 'required', 'seeds must list at least one seed.');
  if (count != null && (!Number.isSafeInteger(count) || count < 1)) {
    problem('count', 'range', `count must be at least 1 (got ${count}).`);
  }
  seeds?.forEach((seed, index) => {
    if (!Number.isSafeInteger(seed) || seed < rules.rules.seed.min || seed > rules.rules.seed.max) {
      problem(
        `seeds.${index}`,
        'range',
        `seeds.${index} must be between ${rules.rules.seed.min} and ${rules.rules.seed.max} (got ${seed}).`,
      );
    }
  });

  const allPrompts = [settings.prompt, ...(prompts ?? [])];
  const perPrompt = seeds?.length ?? count ?? 1;
  const total = allPrompts.length * Math.max(1, perPrompt);
  if (total > rules.maxBatch) {
    problem(
      prompts?.length ? 'prompts' : seeds != null ? 'seeds' : 'count',
      'maxBatch',
      `A batch may have at most ${rules.maxBatch} jobs (got ${allPrompts.length} prompt` +
        `${allPrompts.length === 1 ? '' : 's'} × ${perPrompt} = ${total}).`,
    );
  }

  // Each further prompt is checked as a prompt is (characters, tokens); the other settings
  // were checked with settings.prompt.
  const extraPrompts: string[] = [];
  (prompts ?? []).forEach((prompt, index) => {
    const found: FieldProblem[] = [];
    collect({ ...settings, prompt, seed: rules.rules.seed.min }, rules, found);
    problems.push(
      ...found
        .filter((p) => p.field === 'prompt')
        .map((p) => ({
          ...p,
          field: `prompts.${index}`,
          message: p.message.replace(/^prompt/, `prompts.${index}`),
        })),
    );
    extraPrompts.push(prompt);
  });

  if (first === null || problems.length > 0) throw new InvalidInputError(problems);
  const seedList: readonly (number | null)[] =
    seeds ?? Array.from({ length: count ?? 1 }, () => settings.seed ?? null);
  return [settings.prompt, ...extraPrompts].flatMap((prompt) =>
    seedList.map((seed) => ({
      ...first,
      settings: {
        ...first.settings,
        prompt,
        seed: seed ?? (settings.seed != null ? first.settings.seed : rules.drawSeed()),
      },
    })),
  );
}

/** A token counter that counts each distinct text once. */
function memoized(count: TokenCounter | undefined): TokenCounter | undefined {
  if (count === undefined) return undefined;
  const counts = new Map<string, number>();
  return (text) => {
    let tokens = counts.get(text);
    if (tokens === undefined) {
      tokens = count(text);
      counts.set(text, tokens);
    }
    return tokens;
  };
}

/** Checks one request, adding its problems; the submission when its settings are valid. */
function collect(
  request: SubmissionRequest,
  { rules, drawSeed, countTokens, webhooks }: SubmissionRules,
  problems: FieldProblem[],
): Submission | null {
  let settings: GenerationSettings | null = null;
  try {
    settings = validatePromptRequest(request, rules, drawSeed, countTokens);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    problems.push(...error.problems);
  }

  const priority = request.priority ?? 0;
  if (
    !Number.isSafeInteger(priority) ||
    priority < PRIORITY_RANGE.min ||
    priority > PRIORITY_RANGE.max
  ) {
    problems.push({
      field: 'priority',
      rule: 'range',
      message: `priority must be between ${PRIORITY_RANGE.min} and ${PRIORITY_RANGE.max} (got ${priority}).`,
    });
  }

  let webhook: JobWebhook | null = null;
  if (request.webhookUrl != null) {
    if (!webhooks.enabled) {
      problems.push({
        field: 'webhookUrl',
        rule: 'webhooksOff',
        message:
          'Webhooks are off on this Zeus: the operator turns them on by setting ZEUS_WEBHOOK_SECRET.',
      });
    } else {
      const checked = checkWebhookUrl(request.webhookUrl, { allowPrivate: webhooks.allowPrivate });
      if ('problem' in checked) problems.push(checked.problem);
      else webhook = jobWebhook(checked.url, request.webhookEvents);
    }
  } else if (request.webhookEvents != null) {
    problems.push({
      field: 'webhookEvents',
      rule: 'required',
      message: 'webhookEvents needs a webhookUrl to send the events to.',
    });
  }
  return settings === null ? null : { settings, priority, webhook };
}
