/**
 * The prompt, the generation settings with their defaults and the model's rules, and Generate.
 * Checks the rules before sending; the server's answer to a bad field lands on that field.
 */
import {
  useId,
  useState,
  type SyntheticEvent,
  type KeyboardEvent,
  type ReactNode,
  type Ref,
} from 'react';
import type { SubmitResult } from '../api/hooks.ts';
import type { ModelRules, PromptInput } from '../api/operations.ts';
import type { Upload } from '../api/uploads.ts';
import { describeSettings } from '../jobs/progress.ts';
import type { Readiness } from '../jobs/readiness.ts';
import {
  CUSTOM_SHAPE,
  formatSeconds,
  framesForSeconds,
  presetLabel,
  secondsOf,
  shapeOf,
} from '../jobs/shape.ts';
import {
  FORM_FIELDS,
  latentTokens,
  PRIORITY_CHOICES,
  ruleHints,
  usesSetting,
  validateForm,
  type FormErrors,
  type FormField,
  type FormValues,
} from '../jobs/settings-form.ts';
import { FirstFramePicker } from './FirstFramePicker.tsx';

export interface PromptFormProps {
  readonly rules: ModelRules;
  readonly values: FormValues;
  readonly onChange: (values: FormValues) => void;
  readonly readiness: Readiness;
  /** Submits the input, `count` times with random seeds when more than one (a batch). */
  readonly onSubmit: (input: PromptInput, count: number) => Promise<SubmitResult>;
  readonly promptRef?: Ref<HTMLTextAreaElement>;
  /** The most videos one submission may make (`system.maxBatch`). */
  readonly maxBatch?: number | undefined;
  /** The largest first-frame image Zeus accepts (`system.maxUploadBytes`). */
  readonly maxUploadBytes?: number | undefined;
}

const number = new Intl.NumberFormat('en-US');

interface FieldProps {
  readonly id: string;
  readonly label: string;
  readonly hint?: string;
  readonly error: string | undefined;
  readonly children: (describedBy: string | undefined) => ReactNode;
}

function Field({ id, label, hint, error, children }: FieldProps) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy =
    [hint === undefined ? null : hintId, error === undefined ? null : errorId]
      .filter((part) => part !== null)
      .join(' ') || undefined;
  return (
    <div className={`field${error === undefined ? '' : ' field-invalid'}`}>
      <label htmlFor={id}>{label}</label>
      {children(describedBy)}
      {hint !== undefined && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error !== undefined && (
        <p className="error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

export function PromptForm({
  rules,
  values,
  onChange,
  readiness,
  onSubmit,
  promptRef,
  maxUploadBytes,
  maxBatch = 1,
}: PromptFormProps) {
  const id = useId();
  const fieldId = (field: FormField): string => `${id}-${field}`;
  const [shown, setShown] = useState<ReadonlySet<FormField>>(new Set());
  const [serverErrors, setServerErrors] = useState<FormErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [firstFrame, setFirstFrame] = useState<Upload | null>(null);
  const [previews, setPreviews] = useState(true);
  /** The length as typed, while the seconds field has the focus (it snaps to frames after). */
  const [secondsDraft, setSecondsDraft] = useState<string | null>(null);
  /** "Custom size" picked: the select says so until a shape is picked again. */
  const [customShape, setCustomShape] = useState(false);
  const shape = customShape ? CUSTOM_SHAPE : shapeOf(rules, values.width, values.height);

  const { errors } = validateForm(values, rules, maxBatch);
  const visibleError = (field: FormField): string | undefined =>
    shown.has(field) ? (errors[field] ?? serverErrors[field]) : serverErrors[field];
  const hints = ruleHints(rules, maxBatch);

  const change = (field: FormField, value: string): void => {
    onChange({ ...values, [field]: value });
    if (serverErrors[field] !== undefined) {
      setServerErrors(({ [field]: _dropped, ...rest }) => rest);
    }
  };
  const show = (field: FormField): void => {
    if (!shown.has(field)) setShown(new Set([...shown, field]));
  };

  const focusField = (field: FormField): void => {
    document.getElementById(fieldId(field))?.focus();
  };

  const submit = async (event?: SyntheticEvent): Promise<void> => {
    event?.preventDefault();
    if (submitting || !readiness.ready) return;
    setFormError(null);
    const result = validateForm(values, rules, maxBatch);
    if (result.input === null) {
      setShown(new Set(FORM_FIELDS));
      const firstInvalid = FORM_FIELDS.find((field) => result.errors[field] !== undefined);
      if (firstInvalid !== undefined) focusField(firstInvalid);
      return;
    }
    setSubmitting(true);
    const outcome = await onSubmit(
      {
        ...result.input,
        ...(firstFrame === null ? {} : { imageId: firstFrame.id }),
        ...(previews ? {} : { preview: false }),
      },
      result.count,
    );
    setSubmitting(false);
    if (outcome.ok) return;
    const invalid = FORM_FIELDS.find((field) => outcome.fieldErrors[field] !== undefined);
    if (invalid === undefined) {
      setFormError(outcome.message);
      return;
    }
    setServerErrors(outcome.fieldErrors);
    focusField(invalid);
  };

  const onPromptKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void submit();
  };

  const width = Number(values.width);
  const height = Number(values.height);
  const frames = Number(values.numFrames);
  const frameRate = Number(values.frameRate);
  const lengthKnown = Number.isInteger(frames) && frames > 0 && frameRate > 0;
  const summaryValid =
    errors.width === undefined &&
    errors.height === undefined &&
    errors.numFrames === undefined &&
    errors.frameRate === undefined;
  const reasonId = `${id}-reason`;
  const numberInput = (
    field: 'width' | 'height' | 'numFrames' | 'frameRate' | 'seed' | 'count',
    range: { min: number; max: number },
    step: number,
    describedBy: string | undefined,
    placeholder?: string,
  ) => (
    <input
      id={fieldId(field)}
      name={field}
      type="number"
      inputMode="numeric"
      min={range.min}
      max={range.max}
      step={step}
      value={values[field]}
      placeholder={placeholder}
      aria-invalid={visibleError(field) === undefined ? undefined : true}
      aria-describedby={describedBy}
      onChange={(event) => {
        change(field, event.target.value);
      }}
      onBlur={() => {
        show(field);
      }}
    />
  );

  return (
    <form className="prompt-form" noValidate onSubmit={(event) => void submit(event)}>
      <Field
        id={fieldId('prompt')}
        label="Prompt"
        hint={`What the video shows, in at most ${number.format(rules.maxPromptChars)} characters (${rules.maxPromptTokens} tokens). Ctrl+Enter generates.`}
        error={visibleError('prompt')}
      >
        {(describedBy) => (
          <textarea
            id={fieldId('prompt')}
            name="prompt"
            ref={promptRef}
            rows={3}
            required
            value={values.prompt}
            aria-invalid={visibleError('prompt') === undefined ? undefined : true}
            aria-describedby={describedBy}
            placeholder="A red fox running through fresh snow at sunrise, cinematic"
            onChange={(event) => {
              change('prompt', event.target.value);
            }}
            onBlur={() => {
              if (values.prompt !== '') show('prompt');
            }}
            onKeyDown={onPromptKeyDown}
          />
        )}
      </Field>

      <FirstFramePicker maxBytes={maxUploadBytes} onChange={setFirstFrame} />

      <fieldset className="settings">
        <legend>Settings</legend>
        {usesSetting(rules, 'negativePrompt') && (
          <Field
            id={fieldId('negativePrompt')}
            label="Negative prompt"
            hint="What the video should avoid."
            error={visibleError('negativePrompt')}
          >
            {(describedBy) => (
              <textarea
                id={fieldId('negativePrompt')}
                name="negativePrompt"
                rows={2}
                value={values.negativePrompt}
                aria-invalid={visibleError('negativePrompt') === undefined ? undefined : true}
                aria-describedby={describedBy}
                onChange={(event) => {
                  change('negativePrompt', event.target.value);
                }}
                onBlur={() => {
                  show('negativePrompt');
                }}
              />
            )}
          </Field>
        )}
        <div className="settings-grid">
          <div className="field field-wide">
            <label htmlFor={`${id}-shape`}>Shape</label>
            <select
              id={`${id}-shape`}
              name="shape"
              value={shape}
              aria-describedby={`${id}-shape-hint`}
              onChange={(event) => {
                const preset = rules.sizePresets.find(
                  (candidate) => candidate.aspect === event.target.value,
                );
                setCustomShape(preset === undefined);
                // Custom: the size stays as it is, to be typed below.
                if (preset === undefined) return;
                setServerErrors(({ width: _w, height: _h, ...rest }) => rest);
                onChange({ ...values, width: String(preset.width), height: String(preset.height) });
              }}
            >
              {rules.sizePresets.map((preset) => (
                <option key={preset.aspect} value={preset.aspect}>
                  {presetLabel(preset)}
                </option>
              ))}
              <option value={CUSTOM_SHAPE}>Custom size</option>
            </select>
            <p className="hint" id={`${id}-shape-hint`}>
              Sizes the model does best; or type any size below.
            </p>
          </div>
          <Field
            id={fieldId('width')}
            label="Width"
            hint={hints.width}
            error={visibleError('width')}
          >
            {(describedBy) => numberInput('width', rules.width, rules.sizeMultiple, describedBy)}
          </Field>
          <Field
            id={fieldId('height')}
            label="Height"
            hint={hints.height}
            error={visibleError('height')}
          >
            {(describedBy) => numberInput('height', rules.height, rules.sizeMultiple, describedBy)}
          </Field>
          <div className="field">
            <label htmlFor={`${id}-seconds`}>Length (seconds)</label>
            <input
              id={`${id}-seconds`}
              name="seconds"
              type="number"
              inputMode="decimal"
              min={0}
              step={frameRate > 0 ? Number((rules.frameStep / frameRate).toFixed(4)) : 'any'}
              value={
                secondsDraft ?? (lengthKnown ? formatSeconds(secondsOf(frames, frameRate)) : '')
              }
              aria-describedby={`${id}-seconds-hint`}
              onChange={(event) => {
                setSecondsDraft(event.target.value);
                const wanted = framesForSeconds(rules, Number(event.target.value), frameRate);
                if (event.target.value.trim() !== '' && wanted !== null) {
                  change('numFrames', String(wanted));
                }
              }}
              onBlur={() => {
                setSecondsDraft(null);
              }}
            />
            <p className="hint" id={`${id}-seconds-hint`}>
              {lengthKnown
                ? `${frames} frames at ${frameRate} fps`
                : 'Sets the frames from the frame rate'}
            </p>
          </div>
          <Field
            id={fieldId('numFrames')}
            label="Frames"
            hint={hints.numFrames}
            error={visibleError('numFrames')}
          >
            {(describedBy) =>
              numberInput('numFrames', rules.numFrames, rules.frameStep, describedBy)
            }
          </Field>
          <Field
            id={fieldId('frameRate')}
            label="Frame rate"
            hint={hints.frameRate}
            error={visibleError('frameRate')}
          >
            {(describedBy) => numberInput('frameRate', rules.frameRate, 1, describedBy)}
          </Field>
          <Field id={fieldId('seed')} label="Seed" hint={hints.seed} error={visibleError('seed')}>
            {(describedBy) => numberInput('seed', rules.seed, 1, describedBy, 'random')}
          </Field>
          <Field
            id={fieldId('count')}
            label="Videos"
            hint={hints.count}
            error={visibleError('count')}
          >
            {(describedBy) => numberInput('count', { min: 1, max: maxBatch }, 1, describedBy)}
          </Field>
          <Field
            id={fieldId('priority')}
            label="Priority"
            hint={hints.priority}
            error={visibleError('priority')}
          >
            {(describedBy) => (
              <select
                id={fieldId('priority')}
                name="priority"
                value={values.priority}
                aria-invalid={visibleError('priority') === undefined ? undefined : true}
                aria-describedby={describedBy}
                onChange={(event) => {
                  change('priority', event.target.value);
                }}
              >
                {PRIORITY_CHOICES.map((choice) => (
                  <option key={choice.value} value={choice.value}>
                    {choice.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div className="field-checkbox">
          <input
            id={`${id}-preview`}
            type="checkbox"
            name="preview"
            checked={previews}
            onChange={(event) => {
              setPreviews(event.target.checked);
            }}
          />
          <label htmlFor={`${id}-preview`}>Live previews while it is made</label>
        </div>
        <p className="summary" aria-live="polite">
          {summaryValid
            ? `${describeSettings({ width, height, numFrames: frames, frameRate })} · ${number.format(
                latentTokens(rules, width, height, frames),
              )} of ${number.format(rules.maxLatentTokens)} latent tokens · ${rules.steps} steps`
            : 'Fix the settings above to see the video’s size and length.'}
        </p>
      </fieldset>

      <div className="actions">
        <button
          type="submit"
          className="primary"
          disabled={!readiness.ready || submitting}
          aria-describedby={readiness.ready ? undefined : reasonId}
        >
          Generate
        </button>
        {!readiness.ready && (
          <p className="reason" id={reasonId}>
            {readiness.reason}
          </p>
        )}
      </div>
      {formError !== null && (
        <p className="banner banner-error" role="alert">
          {formError}
        </p>
      )}
    </form>
  );
}
