import { describe, expect, it } from 'vitest';
import { applyJobEvent, newJob } from './job-state.ts';
import { previewUrlFor } from './job.ts';
import { modelRules } from './model-rules.ts';
import { validatePromptRequest } from './validation.ts';

const now = new Date('2026-01-01T00:00:00.000Z');
const id = '00000000-0000-4000-8000-0000000000aa';

describe('live previews on the job record', () => {
  const running = applyJobEvent(
    newJob({
      id,
      settings: {
        prompt: 'p',
        negativePrompt: '',
        width: 64,
        height: 64,
        numFrames: 9,
        frameRate: 8,
        seed: 1,
      },
      model: 'tiny-random',
      totalSteps: 8,
      now,
    }),
    { type: 'start', workerId: 'w', totalSteps: 8 },
    now,
  );

  it('carries the latest preview URL with the progress, and keeps it until replaced', () => {
    expect(running.previewUrl).toBeNull();
    const first = applyJobEvent(
      running,
      {
        type: 'progress',
        attempt: 1,
        stage: 'DENOISING',
        step: 1,
        previewUrl: previewUrlFor(id, 1),
      },
      now,
    );
    expect(first.previewUrl).toBe(`/generated/${id}/preview-1.jpg`);
    const later = applyJobEvent(
      first,
      { type: 'progress', attempt: 1, stage: 'DECODING', step: 8 },
      now,
    );
    expect(later.previewUrl).toBe(first.previewUrl);
    const done = applyJobEvent(later, { type: 'succeed', attempt: 1, videoUrl: 'v' }, now);
    expect(done.previewUrl).toBe(first.previewUrl);
  });

  it('starts a new attempt without the previous attempt’s preview', () => {
    const withPreview = applyJobEvent(
      running,
      {
        type: 'progress',
        attempt: 1,
        stage: 'DENOISING',
        step: 2,
        previewUrl: previewUrlFor(id, 2),
      },
      now,
    );
    const retried = applyJobEvent(
      withPreview,
      { type: 'start', workerId: 'w2', totalSteps: 8 },
      now,
    );
    expect(retried.previewUrl).toBeNull();
  });
});

describe('the preview setting', () => {
  const rules = modelRules('tiny-random');
  it('is on unless turned off, and stored only when off', () => {
    const on = validatePromptRequest({ prompt: 'a fox' }, rules, () => 1);
    expect(on).not.toHaveProperty('preview');
    expect(
      validatePromptRequest({ prompt: 'a fox', preview: true }, rules, () => 1),
    ).not.toHaveProperty('preview');
    expect(validatePromptRequest({ prompt: 'a fox', preview: false }, rules, () => 1).preview).toBe(
      false,
    );
  });
});
