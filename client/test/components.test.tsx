// @vitest-environment happy-dom
import { ApolloClient, ApolloLink, InMemoryCache } from '@apollo/client';
import { ApolloProvider } from '@apollo/client/react';
import { act, cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionMonitor } from '../src/api/connection.ts';
import { ConnectionContext, type SubmitResult } from '../src/api/hooks.ts';
import type { PromptInput } from '../src/api/operations.ts';
import { ConnectionBanner } from '../src/components/ConnectionBanner.tsx';
import { JobCard } from '../src/components/JobCard.tsx';
import { ProgressBar } from '../src/components/ProgressBar.tsx';
import { PromptForm } from '../src/components/PromptForm.tsx';
import type { Readiness } from '../src/jobs/readiness.ts';
import { defaultValues, type FormValues } from '../src/jobs/settings-form.ts';
import { RULES, job } from './fixtures.ts';

afterEach(cleanup);

describe('ProgressBar', () => {
  it('is a progressbar with its value from 0 to 100 and the stage in words', () => {
    render(<ProgressBar percent={37.4} label="Progress of “fox”" description="Denoising" />);
    const bar = screen.getByRole('progressbar', { name: 'Progress of “fox”' });
    expect(bar.getAttribute('aria-valuenow')).toBe('37');
    expect(bar.getAttribute('aria-valuemin')).toBe('0');
    expect(bar.getAttribute('aria-valuemax')).toBe('100');
    expect(bar.getAttribute('aria-valuetext')).toBe('37% · Denoising');
  });

  it('clamps out-of-range values', () => {
    render(<ProgressBar percent={140} label="p" description="Done" />);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
  });
});

function Form({
  readiness,
  onSubmit,
  initial = defaultValues(RULES),
}: {
  readiness: Readiness;
  onSubmit: (input: PromptInput, count: number) => Promise<SubmitResult>;
  initial?: FormValues;
}) {
  const [values, setValues] = useState(initial);
  return (
    <PromptForm
      rules={RULES}
      values={values}
      onChange={setValues}
      readiness={readiness}
      onSubmit={onSubmit}
    />
  );
}

const ready: Readiness = { ready: true };
const succeed = (input: PromptInput): Promise<SubmitResult> =>
  Promise.resolve({
    ok: true,
    job: job({ id: 'new', settings: { ...job({ id: 'x' }).settings, prompt: input.prompt } }),
  });

describe('PromptForm', () => {
  it('shows the defaults and the model’s rules before anything is submitted', () => {
    render(<Form readiness={ready} onSubmit={succeed} />);
    expect(screen.getByRole('textbox', { name: 'Prompt' })).toBeTruthy();
    const width = screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Width' });
    expect(width.value).toBe('768');
    expect(width.getAttribute('aria-describedby')).toBeTruthy();
    expect(screen.getAllByText('Multiple of 32, 64–1280 px')).toHaveLength(2);
    expect(screen.getByText('8k + 1, 9–257')).toBeTruthy();
    expect(
      screen.getByText(
        '768×512 · 121 frames at 25 fps (4.84 s) · 6,144 of 16,384 latent tokens · 8 steps',
      ),
    ).toBeTruthy();
    expect(
      screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Negative prompt' }).value,
    ).toBe('worst quality, blurry');
  });

  it('disables Generate and says why while the model is not ready', () => {
    const reason =
      'The worker is loading the model (tiny-random). Generate turns on when it is ready.';
    render(<Form readiness={{ ready: false, reason }} onSubmit={succeed} />);
    const generate = screen.getByRole<HTMLButtonElement>('button', { name: 'Generate' });
    expect(generate.disabled).toBe(true);
    const describedBy = generate.getAttribute('aria-describedby') ?? '';
    expect(document.getElementById(describedBy)?.textContent).toBe(reason);
  });

  it('shows the rule a field breaks, tied to the field, and focuses the first bad field', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(succeed);
    render(<Form readiness={ready} onSubmit={onSubmit} />);
    const width = screen.getByRole('spinbutton', { name: 'Width' });
    await user.clear(width);
    await user.type(width, '250');
    await user.tab();
    const message = screen.getByText('Width must be a multiple of 32 (try 224 or 256).');
    expect(width.getAttribute('aria-invalid')).toBe('true');
    expect(width.getAttribute('aria-describedby')).toContain(message.id);

    await user.click(screen.getByRole('button', { name: 'Generate' }));
    expect(screen.getByText('Write a prompt: it says what the video shows.')).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole('textbox', { name: 'Prompt' }));
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('sends the settings as PromptInput', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(succeed);
    render(<Form readiness={ready} onSubmit={onSubmit} />);
    await user.type(screen.getByRole('textbox', { name: 'Prompt' }), 'a fox in the snow');
    await user.type(screen.getByRole('spinbutton', { name: 'Seed' }), '42');
    await user.click(screen.getByRole('button', { name: 'Generate' }));
    expect(onSubmit).toHaveBeenCalledWith(
      {
        prompt: 'a fox in the snow',
        negativePrompt: 'worst quality, blurry',
        width: 768,
        height: 512,
        numFrames: 121,
        frameRate: 25,
        seed: 42,
      },
      1,
    );
  });

  it('puts the server’s message on the field it names, or above the form', async () => {
    const user = userEvent.setup();
    const onSubmit = vi
      .fn<(input: PromptInput) => Promise<SubmitResult>>()
      .mockResolvedValueOnce({
        ok: false,
        message: 'prompt must be at most 1024 characters (got 2000).',
        fieldErrors: { prompt: 'prompt must be at most 1024 characters (got 2000).' },
        code: 'BAD_USER_INPUT',
      })
      .mockResolvedValueOnce({
        ok: false,
        message: 'The queue is full (1000 jobs waiting). Try again when some have finished.',
        fieldErrors: {},
        code: 'QUEUE_FULL',
      });
    render(<Form readiness={ready} onSubmit={onSubmit} />);
    await user.type(screen.getByRole('textbox', { name: 'Prompt' }), 'a fox');
    await user.click(screen.getByRole('button', { name: 'Generate' }));
    expect(
      await screen.findByText('prompt must be at most 1024 characters (got 2000).'),
    ).toBeTruthy();
    expect(screen.getByRole('textbox', { name: 'Prompt' }).getAttribute('aria-invalid')).toBe(
      'true',
    );

    await user.click(screen.getByRole('button', { name: 'Generate' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'The queue is full (1000 jobs waiting). Try again when some have finished.',
    );
  });
});

describe('JobCard', () => {
  const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.empty() });
  const renderCard = (card: Parameters<typeof JobCard>[0]['job']) =>
    render(
      <ApolloProvider client={client}>
        <JobCard job={card} onRunAgain={vi.fn()} onEdit={vi.fn()} />
      </ApolloProvider>,
    );

  it('plays a finished video when asked, muted and looping, with a download link', async () => {
    const user = userEvent.setup();
    renderCard(
      job({
        id: 'done',
        status: 'SUCCEEDED',
        stage: 'DONE',
        progress: 1,
        queuePosition: null,
        videoUrl: '/generated/done/out.mp4',
        posterUrl: '/generated/done/poster.jpg',
      }),
    );
    // Done before the page loaded: its poster, and no video until it is played.
    expect(document.querySelector('video')).toBeNull();
    expect(document.querySelector('img')?.getAttribute('src')).toBe('/generated/done/poster.jpg');
    await user.click(screen.getByRole('button', { name: /^Play/ }));
    const video = document.querySelector('video');
    expect(document.querySelectorAll('video')).toHaveLength(1);
    expect(document.activeElement).toBe(video);
    expect(video?.getAttribute('src')).toBe('/generated/done/out.mp4');
    expect(video?.autoplay).toBe(true);
    expect(video?.muted).toBe(true);
    expect(video?.loop).toBe(true);
    expect(video?.controls).toBe(true);
    const download = screen.getByRole('link', { name: /^Download/ });
    expect(download.getAttribute('href')).toBe('/generated/done/out.mp4');
    expect(download.hasAttribute('download')).toBe(true);
    // A job that was already done when the page loaded shows its result, not a progress bar.
    expect(screen.queryByRole('progressbar')).toBeNull();
  });

  it('says why a job failed', () => {
    renderCard(
      job({
        id: 'bad',
        status: 'FAILED',
        stage: 'DONE',
        queuePosition: null,
        error: { code: 'ENCODER_FAILED', message: 'ffmpeg exited with code 1' },
      }),
    );
    expect(screen.getByText(/ffmpeg exited with code 1/)).toBeTruthy();
    expect(screen.getByText('ENCODER_FAILED')).toBeTruthy();
    expect(screen.queryByRole('link', { name: /^Download/ })).toBeNull();
  });
});

describe('ConnectionBanner', () => {
  it('says the live connection is being retried only when it dropped, not when the key was refused', () => {
    const monitor = new ConnectionMonitor();
    render(
      <ConnectionContext.Provider value={monitor}>
        <ConnectionBanner />
      </ConnectionContext.Provider>,
    );
    const banner = screen.getByRole('status');
    expect(banner.textContent).toBe('');
    act(() => {
      monitor.set('reconnecting');
    });
    expect(banner.textContent).toContain('Reconnecting… The live connection to Zeus dropped');
    // Refused: the key prompt tells the user what to do; "dropped" would be wrong.
    act(() => {
      monitor.set('refused');
    });
    expect(banner.textContent).toBe('');
    act(() => {
      monitor.set('connected');
    });
    expect(banner.textContent).toBe('');
  });
});
