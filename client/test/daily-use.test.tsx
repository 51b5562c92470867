// @vitest-environment happy-dom
import { ApolloClient, ApolloLink, InMemoryCache } from '@apollo/client';
import { ApolloProvider } from '@apollo/client/react';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SubmitResult } from '../src/api/hooks.ts';
import type { ModelRules, PromptInput } from '../src/api/operations.ts';
import { JobCard } from '../src/components/JobCard.tsx';
import { ModelRulesContext } from '../src/components/model-rules-context.ts';
import { PromptForm } from '../src/components/PromptForm.tsx';
import { defaultValues, validateForm } from '../src/jobs/settings-form.ts';
import { DISTILLED_RULES, job, RULES } from './fixtures.ts';

afterEach(cleanup);

function Form({
  rules,
  onSubmit,
}: {
  rules: ModelRules;
  onSubmit: (input: PromptInput, count: number) => Promise<SubmitResult>;
}) {
  const [values, setValues] = useState(defaultValues(rules));
  return (
    <PromptForm
      rules={rules}
      values={values}
      onChange={setValues}
      readiness={{ ready: true }}
      onSubmit={onSubmit}
    />
  );
}

const succeed = (input: PromptInput): Promise<SubmitResult> =>
  Promise.resolve({
    ok: true,
    job: job({ id: 'new', settings: { ...job({ id: 'x' }).settings, prompt: input.prompt } }),
  });

describe('only controls that change the video', () => {
  it('has no negative prompt for a model that ignores it, and sends none', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(succeed);
    render(<Form rules={DISTILLED_RULES} onSubmit={onSubmit} />);
    expect(screen.queryByRole('textbox', { name: 'Negative prompt' })).toBeNull();
    await user.type(screen.getByRole('textbox', { name: 'Prompt' }), 'a fox');
    await user.click(screen.getByRole('button', { name: 'Generate' }));
    expect(onSubmit).toHaveBeenCalledWith(
      { prompt: 'a fox', width: 768, height: 512, numFrames: 121, frameRate: 25 },
      1,
    );
    // The same, checked without a browser.
    const values = { ...defaultValues(DISTILLED_RULES), prompt: 'p', negativePrompt: 'n' };
    expect(validateForm(values, DISTILLED_RULES).input).not.toHaveProperty('negativePrompt');
  });

  it("shows a job's negative prompt only for a model that uses one", () => {
    const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.empty() });
    const withNegative = job({
      id: 'n',
      settings: { ...job({ id: 'n' }).settings, negativePrompt: 'worst quality, blurry' },
    });
    for (const [rules, shown] of [
      [DISTILLED_RULES, 0],
      [RULES, 1],
    ] as const) {
      render(
        <ApolloProvider client={client}>
          <ModelRulesContext.Provider value={rules}>
            <JobCard job={withNegative} onRunAgain={vi.fn()} onEdit={vi.fn()} />
          </ModelRulesContext.Provider>
        </ApolloProvider>,
      );
      expect(screen.queryAllByText('worst quality, blurry')).toHaveLength(shown);
      cleanup();
    }
  });
});

describe('shapes, not numbers', () => {
  it('sets the size from a shape, and says custom for a size typed by hand', async () => {
    const user = userEvent.setup();
    render(<Form rules={DISTILLED_RULES} onSubmit={succeed} />);
    const shape = screen.getByRole<HTMLSelectElement>('combobox', { name: 'Shape' });
    const width = screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Width' });
    const height = screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Height' });
    expect(shape.value).toBe('3:2');
    expect([...shape.options].map((option) => option.text)).toEqual([
      '16:9 landscape, 864×480',
      '3:2 landscape, 768×512',
      '1:1 square, 640×640',
      '9:16 portrait, 480×864',
      'Custom size',
    ]);
    await user.selectOptions(shape, '9:16');
    expect([width.value, height.value]).toEqual(['480', '864']);
    await user.clear(width);
    await user.type(width, '512');
    expect(shape.value).toBe('custom');
    await user.selectOptions(shape, 'custom');
    expect([width.value, height.value, shape.value]).toEqual(['512', '864', 'custom']);
  });

  it('speaks of length in seconds: a length sets the nearest frame count', async () => {
    const user = userEvent.setup();
    render(<Form rules={DISTILLED_RULES} onSubmit={succeed} />);
    const seconds = screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Length (seconds)' });
    const frames = screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Frames' });
    expect(seconds.value).toBe('4.84');
    await user.clear(seconds);
    await user.type(seconds, '5');
    expect(frames.value).toBe('129');
    expect(seconds.value).toBe('5');
    await user.tab();
    // Once left, it shows the length those frames really last.
    expect(seconds.value).toBe('5.16');
    expect(screen.getByText('129 frames at 25 fps')).toBeTruthy();
    await user.clear(frames);
    await user.type(frames, '17');
    expect(seconds.value).toBe('0.68');
  });
});
