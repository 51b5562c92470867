// @vitest-environment happy-dom
/** The job card's Cancel and Retry buttons and its expiry, with Apollo answering from a link. */
import { ApolloClient, ApolloLink, InMemoryCache } from '@apollo/client';
import { ApolloProvider } from '@apollo/client/react';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { of } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../src/api/operations.ts';
import { JobCard } from '../src/components/JobCard.tsx';
import { job } from './fixtures.ts';

afterEach(cleanup);

/** A client whose server answers each operation by name, recording what it was sent. */
type Answers = Record<string, (variables: Record<string, unknown>) => Record<string, unknown>>;

function clientAnswering(answers: Answers) {
  const sent: { name: string; variables: Record<string, unknown> }[] = [];
  const link = new ApolloLink((operation) => {
    sent.push({ name: operation.operationName ?? '', variables: operation.variables });
    const answer = answers[operation.operationName ?? ''];
    return of(answer === undefined ? { data: null } : { data: answer(operation.variables) });
  });
  return { client: new ApolloClient({ cache: new InMemoryCache(), link }), sent };
}

function renderCard(card: Job, answers: Answers = {}) {
  const { client, sent } = clientAnswering(answers);
  render(
    <ApolloProvider client={client}>
      <JobCard job={card} onRunAgain={vi.fn()} onEdit={vi.fn()} />
    </ApolloProvider>,
  );
  return sent;
}

describe('JobCard job control', () => {
  it('cancels a queued or running job', async () => {
    const running = job({ id: 'run', status: 'RUNNING', stage: 'DENOISING', queuePosition: null });
    const sent = renderCard(running, {
      CancelJob: () => ({ cancelJob: { ...running, status: 'CANCELLED', stage: 'DONE' } }),
    });
    expect(screen.queryByRole('button', { name: /^Retry/ })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: /^Cancel/ }));
    expect(sent.find((operation) => operation.name === 'CancelJob')?.variables).toEqual({
      id: 'run',
    });
  });

  it('retries a failed or cancelled job, and says when Zeus refuses', async () => {
    const cancelled = job({ id: 'gone', status: 'CANCELLED', stage: 'DONE', queuePosition: null });
    const sent = renderCard(cancelled, {
      RetryJob: () => ({ retryJob: job({ id: 'again', retryOf: 'gone' }) }),
    });
    expect(screen.queryByRole('button', { name: /^Cancel/ })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: /^Retry/ }));
    expect(sent.find((operation) => operation.name === 'RetryJob')?.variables).toEqual({
      id: 'gone',
    });
    cleanup();

    renderCard(job({ id: 'bad', status: 'FAILED', stage: 'DONE', queuePosition: null }));
    await userEvent.click(screen.getByRole('button', { name: /^Retry/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/^Could not retry it: /);
  });

  it('says when a finished job expires, and its priority', () => {
    const inAWeek = new Date(Date.now() + 7 * 86_400_000 + 30_000).toISOString();
    renderCard(
      job({
        id: 'done',
        status: 'SUCCEEDED',
        stage: 'DONE',
        queuePosition: null,
        videoUrl: '/generated/done/out.mp4',
        expiresAt: inAWeek,
        priority: 5,
      }),
    );
    expect(screen.getByText('Expires in 7 d')).toBeTruthy();
    expect(screen.getByText(/priority 5/)).toBeTruthy();
  });
});
