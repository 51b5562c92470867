// @vitest-environment happy-dom
import { ApolloClient, ApolloLink, InMemoryCache } from '@apollo/client';
import { ApolloProvider } from '@apollo/client/react';
import { cleanup, render, screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatBytes, uploadImage, type Upload } from '../src/api/uploads.ts';
import { FirstFramePicker } from '../src/components/FirstFramePicker.tsx';
import { JobCard } from '../src/components/JobCard.tsx';
import { job } from './fixtures.ts';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const UPLOAD: Upload = {
  id: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
  type: 'png',
  width: 640,
  height: 480,
  bytes: 1234,
  expiresAt: '2026-11-27T15:30:00.000Z',
};

describe('uploadImage', () => {
  it('POSTs the bytes with the image type and the key, and returns the upload', async () => {
    const fetchImpl = vi.fn((_url: string | URL | Request, _init?: RequestInit) =>
      Promise.resolve(new Response(JSON.stringify(UPLOAD), { status: 201 })),
    );
    const file = new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' });
    expect(await uploadImage(file, 'secret', fetchImpl)).toEqual({ ok: true, upload: UPLOAD });
    const [url, init] = fetchImpl.mock.calls[0] ?? [];
    expect(url).toBe('/uploads');
    expect(init?.method).toBe('POST');
    expect(init?.headers).toEqual({ 'content-type': 'image/png', authorization: 'Bearer secret' });
  });

  it("says Zeus's reason for a refused image, with its code", async () => {
    const refusal = {
      errors: [{ message: 'Not an image.', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }],
    };
    const fetchImpl = () => Promise.resolve(new Response(JSON.stringify(refusal), { status: 415 }));
    const file = new Blob(['hello'], { type: 'text/plain' });
    expect(await uploadImage(file, null, fetchImpl)).toEqual({
      ok: false,
      message: 'Not an image.',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('writes limits in words', () => {
    expect(formatBytes(10_485_760)).toBe('10 MiB');
    expect(formatBytes(204_800)).toBe('200 KiB');
  });
});

describe('FirstFramePicker', () => {
  it('shows the limit, uploads the chosen image and shows it', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() => Promise.resolve(new Response(JSON.stringify(UPLOAD), { status: 201 }))),
    );
    const chosen: (Upload | null)[] = [];
    render(<FirstFramePicker maxBytes={10_485_760} onChange={(upload) => chosen.push(upload)} />);
    const input = screen.getByLabelText('First frame (optional)');
    expect(screen.getByText(/PNG, JPEG or WebP, up to 10 MiB/)).toBeTruthy();
    await userEvent.upload(
      input,
      new File([new Uint8Array([1, 2, 3])], 'cat.png', { type: 'image/png' }),
    );
    expect(await screen.findByText(/640×480 PNG, ready/)).toBeTruthy();
    expect(screen.getByRole('img', { name: 'First frame: cat.png' })).toBeTruthy();
    expect(chosen.at(-1)).toEqual(UPLOAD);
    await userEvent.click(screen.getByRole('button', { name: 'Remove' }));
    expect(chosen.at(-1)).toBeNull();
  });

  it('refuses a file over the limit before sending it', async () => {
    const fetchMock = vi.fn();
    vi.stubGlobal('fetch', fetchMock);
    render(<FirstFramePicker maxBytes={10} onChange={() => undefined} />);
    await userEvent.upload(
      screen.getByLabelText('First frame (optional)'),
      new File([new Uint8Array(20)], 'big.png', { type: 'image/png' }),
    );
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /big\.png is 20 bytes; the limit is 10 bytes/,
    );
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('JobCard with a live preview', () => {
  const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.empty() });
  const withApollo = (children: ReactNode) => (
    <ApolloProvider client={client}>{children}</ApolloProvider>
  );

  it('shows the latest preview while the job runs, and the video once it is done', () => {
    const running = job({
      id: 'a',
      status: 'RUNNING',
      stage: 'DENOISING',
      step: 3,
      queuePosition: null,
      previewUrl: '/generated/a/preview-3.jpg',
    });
    const { rerender } = render(
      withApollo(<JobCard job={running} onRunAgain={() => undefined} onEdit={() => undefined} />),
    );
    const preview = screen.getByRole('img', { name: /Live preview of “prompt of a”, step 3 of 8/ });
    expect(preview.getAttribute('src')).toBe('/generated/a/preview-3.jpg');
    rerender(
      withApollo(
        <JobCard
          job={{ ...running, status: 'SUCCEEDED', stage: 'DONE', videoUrl: '/generated/a/out.mp4' }}
          onRunAgain={() => undefined}
          onEdit={() => undefined}
        />,
      ),
    );
    expect(screen.queryByRole('img', { name: /Live preview/ })).toBeNull();
  });
});
