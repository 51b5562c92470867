// @vitest-environment happy-dom
import { MockedProvider } from '@apollo/client/testing/react';
import type { MockLink } from '@apollo/client/testing';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache } from '../src/api/cache.ts';
import { ConnectionContext, HISTORY_PAGE_SIZE } from '../src/api/hooks.ts';
import { ConnectionMonitor } from '../src/api/connection.ts';
import {
  JOB_UPDATED_SUBSCRIPTION,
  JOBS_QUERY,
  MODEL_RULES_QUERY,
  SUBMIT_PROMPT_MUTATION,
  SYSTEM_QUERY,
  type Job,
} from '../src/api/operations.ts';
import { AnnouncerProvider } from '../src/components/Announcer.tsx';
import { App } from '../src/components/App.tsx';
import { RULES, job } from './fixtures.ts';

afterEach(cleanup);

const minute = (n: number): string => new Date(Date.UTC(2026, 10, 27, 14, n)).toISOString();

function finished(id: string, n: number, prompt: string): Job {
  return job({
    id,
    status: 'SUCCEEDED',
    stage: 'DONE',
    progress: 1,
    step: 8,
    queuePosition: null,
    videoUrl: `/generated/${id}/out.mp4`,
    createdAt: minute(n),
    settings: { ...job({ id }).settings, prompt, seed: 100 + n },
  });
}

const withTypes = (value: Job) => ({
  ...value,
  __typename: 'Job' as const,
  settings: { ...value.settings, __typename: 'GenerationSettings' },
});

function page(jobs: readonly Job[], hasNextPage: boolean, totalCount: number) {
  return {
    jobs: {
      __typename: 'JobConnection',
      edges: jobs.map((node) => ({
        __typename: 'JobEdge',
        cursor: `cursor-${node.id}`,
        node: withTypes(node),
      })),
      pageInfo: {
        __typename: 'PageInfo',
        hasNextPage,
        endCursor: jobs.length > 0 ? `cursor-${jobs.at(-1)?.id}` : null,
      },
      totalCount,
    },
  };
}

const rulesData = {
  modelRules: {
    __typename: 'ModelRules',
    ...RULES,
    defaults: { __typename: 'GenerationDefaults', ...RULES.defaults },
    width: { __typename: 'IntRange', ...RULES.width },
    height: { __typename: 'IntRange', ...RULES.height },
    numFrames: { __typename: 'IntRange', ...RULES.numFrames },
    frameRate: { __typename: 'IntRange', ...RULES.frameRate },
    seed: { __typename: 'IntRange', ...RULES.seed },
    sizePresets: RULES.sizePresets.map((preset) => ({ __typename: 'SizePreset', ...preset })),
  },
};

const systemData = (modelReady: boolean) => ({
  system: {
    __typename: 'SystemStatus',
    queueLength: 0,
    maxQueued: 1000,
    running: 0,
    workersOnline: 1,
    modelReady,
    model: 'tiny-random',
    modelStatus: {
      __typename: 'ModelStatus',
      state: modelReady ? 'READY' : 'LOADING',
      message: modelReady ? 'The model is loaded on 1 worker.' : 'Loading the model.',
      progress: null,
    },
  },
});

// A page of finished jobs fills the first page (numbered TOP down to 2); one more is on the
// second.
const TOP = HISTORY_PAGE_SIZE + 1;
const newest = Array.from({ length: HISTORY_PAGE_SIZE }, (_, i) =>
  finished(`job-${TOP - i}`, TOP - i, `prompt number ${TOP - i}`),
);
const oldest = finished('job-1', 1, 'the very first prompt');
const rerun = job({
  id: `job-${TOP + 1}`,
  status: 'QUEUED',
  createdAt: minute(TOP + 1),
  settings: { ...newest[0]!.settings, seed: 555 },
});

function mocks(modelReady = true): MockLink.MockedResponse[] {
  return [
    { request: { query: MODEL_RULES_QUERY }, result: { data: rulesData } },
    {
      request: { query: SYSTEM_QUERY },
      result: { data: systemData(modelReady) },
      maxUsageCount: Number.POSITIVE_INFINITY,
    },
    {
      request: { query: JOBS_QUERY, variables: { first: HISTORY_PAGE_SIZE } },
      result: { data: page(newest, true, TOP) },
    },
    {
      request: {
        query: JOBS_QUERY,
        variables: { first: HISTORY_PAGE_SIZE, after: `cursor-${newest.at(-1)?.id}` },
      },
      result: { data: page([oldest], false, TOP) },
    },
    {
      request: {
        query: SUBMIT_PROMPT_MUTATION,
        variables: {
          input: {
            prompt: `prompt number ${TOP}`,
            negativePrompt: '',
            width: 256,
            height: 256,
            numFrames: 17,
            frameRate: 25,
          },
        },
      },
      result: { data: { submitPrompt: withTypes(rerun) } },
    },
    {
      request: { query: JOB_UPDATED_SUBSCRIPTION, variables: { id: rerun.id } },
      result: { data: { jobUpdated: withTypes(rerun) } },
    },
  ];
}

function renderApp(modelReady = true) {
  return render(
    <MockedProvider mocks={mocks(modelReady)} cache={createCache()}>
      <ConnectionContext.Provider value={new ConnectionMonitor()}>
        <AnnouncerProvider>
          <App />
        </AnnouncerProvider>
      </ConnectionContext.Provider>
    </MockedProvider>,
  );
}

const videoTitles = (): string[] =>
  within(screen.getByRole('list', { name: 'Videos, newest first' }))
    .getAllByRole('heading')
    .map((heading) => heading.textContent);

describe('App', () => {
  it('pages through the history, newest first', async () => {
    const user = userEvent.setup();
    renderApp();
    await screen.findByRole('article', { name: `prompt number ${TOP}` });
    expect(videoTitles()).toEqual(newest.map((each) => each.settings.prompt));
    expect(screen.getByText(`Showing ${HISTORY_PAGE_SIZE} of ${TOP}`)).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Show older videos' }));
    await screen.findByRole('article', { name: 'the very first prompt' });
    expect(videoTitles().at(-1)).toBe('the very first prompt');
    expect(screen.getByText(`Showing ${TOP} of ${TOP}`)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Show older videos' })).toBeNull();
  });

  it('runs a prompt again with a new seed, and the new job appears first at once', async () => {
    const user = userEvent.setup();
    renderApp();
    const card = await screen.findByRole('article', { name: `prompt number ${TOP}` });
    await user.click(within(card).getByRole('button', { name: /^Run again/ }));
    await screen.findByRole('progressbar', { name: `Progress of “prompt number ${TOP}”` });
    expect(videoTitles().slice(0, 2)).toEqual([`prompt number ${TOP}`, `prompt number ${TOP}`]);
    expect(screen.getByText(`Showing ${TOP} of ${TOP + 1}`)).toBeTruthy();
  });

  it('puts a past job’s settings in the form to edit, with the seed left to chance', async () => {
    const user = userEvent.setup();
    renderApp();
    const card = await screen.findByRole('article', { name: 'prompt number 7' });
    await user.click(within(card).getByRole('button', { name: /^Edit/ }));
    const prompt = screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Prompt' });
    expect(prompt.value).toBe('prompt number 7');
    expect(document.activeElement).toBe(prompt);
    expect(screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Width' }).value).toBe('256');
    expect(screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Frames' }).value).toBe('17');
    expect(screen.getByRole<HTMLInputElement>('spinbutton', { name: 'Seed' }).value).toBe('');
  });

  it('keeps Generate off, with the reason, until the model is ready', async () => {
    renderApp(false);
    await screen.findByText(
      'The model (tiny-random) is not ready: Loading the model. Generate turns on when it is ready.',
    );
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Generate' }).disabled).toBe(true);
  });
});
