// @vitest-environment happy-dom
import { ApolloClient, ApolloLink, InMemoryCache } from '@apollo/client';
import { ApolloProvider } from '@apollo/client/react';
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKERS_QUERY, type WorkerInfo } from '../src/api/workers.ts';
import { WorkersPanel } from '../src/components/WorkersPanel.tsx';
import { ago, describeWorker, summarizeWorkers } from '../src/workers/describe.ts';

afterEach(cleanup);

const NOW = new Date('2026-11-27T12:00:00.000Z');

function worker(fields: Partial<WorkerInfo> & { id: string }): WorkerInfo {
  return {
    host: 'gpu-node-1',
    device: 'cuda',
    models: [],
    deviceNotices: [],
    model: 'ltxv-2b-0.9.6-distilled',
    status: 'ONLINE',
    ready: true,
    modelStatus: { state: 'READY', message: 'The model is loaded.', progress: null },
    currentJobId: null,
    currentJob: null,
    jobsDone: 0,
    lastSeenAt: '2026-11-27T11:59:57.000Z',
    startedAt: '2026-11-27T10:00:00.000Z',
    ...fields,
  };
}

describe('describeWorker', () => {
  it('says what each worker is doing', () => {
    expect(describeWorker(worker({ id: 'a' }), NOW)).toEqual({
      state: 'idle',
      doing: 'idle',
      lastSeen: '3 s ago',
    });
    expect(
      describeWorker(
        worker({
          id: 'b',
          currentJobId: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
          currentJob: {
            id: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
            progress: 0.456,
            settings: { prompt: 'a red fox running through deep snow at dawn, wide shot' },
          },
        }),
        NOW,
      ).doing,
    ).toBe('generating 45 % of “a red fox running through deep snow at …”');
    // Another key's job: only its id.
    expect(
      describeWorker(worker({ id: 'c', currentJobId: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f' }), NOW)
        .doing,
    ).toBe('generating job 6f1c2a9e');
    expect(
      describeWorker(
        worker({
          id: 'd',
          ready: false,
          device: 'auto',
          modelStatus: { state: 'DOWNLOADING', message: '…', progress: 0.34 },
        }),
        NOW,
      ),
    ).toMatchObject({ state: 'preparing', doing: 'downloading 34 %' });
    expect(
      describeWorker(
        worker({ id: 'e', status: 'GONE', ready: false, lastSeenAt: '2026-11-27T11:57:00.000Z' }),
        NOW,
      ),
    ).toEqual({ state: 'gone', doing: 'gone (last seen 3 min ago)', lastSeen: '3 min ago' });
  });

  it('counts online and gone workers, and says how long ago in plain units', () => {
    expect(summarizeWorkers([worker({ id: 'a' })])).toBe('1 worker online');
    expect(
      summarizeWorkers([
        worker({ id: 'a' }),
        worker({ id: 'b' }),
        worker({ id: 'c', status: 'GONE' }),
      ]),
    ).toBe('2 workers online, 1 gone');
    expect(ago('2026-11-27T12:00:00.500Z', NOW)).toBe('just now');
    expect(ago('2026-11-27T09:00:00.000Z', NOW)).toBe('3 h ago');
  });
});

describe('WorkersPanel', () => {
  it('lists the workers with their machine, device, work and jobs done', async () => {
    const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.empty() });
    client.writeQuery({
      query: WORKERS_QUERY,
      data: {
        workers: [
          worker({ id: 'zeus-worker-a', jobsDone: 12, lastSeenAt: new Date().toISOString() }),
          worker({ id: 'zeus-worker-b', status: 'GONE', ready: false, device: 'cpu' }),
          worker({
            id: 'zeus-worker-c',
            device: 'webgpu',
            lastSeenAt: new Date().toISOString(),
            models: [
              { component: 'transformer', provider: 'webgpu', precision: 'fp16' },
              { component: 'text encoder', provider: 'cpu', precision: 'fp16' },
            ],
            deviceNotices: [
              'device auto runs on webgpu: cuda was refused: libcudnn.so.9: cannot open shared object file',
            ],
          }),
        ],
      },
    });
    render(
      <ApolloProvider client={client}>
        <WorkersPanel />
      </ApolloProvider>,
    );
    expect(await screen.findByText('2 workers online, 1 gone')).toBeTruthy();
    const table = screen.getByRole('table', { name: 'Workers' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => row.textContent)).toEqual([
      expect.stringMatching(/^zeus-worker-agpu-node-1cudaidle12(just now|\d s ago)$/),
      expect.stringMatching(/^zeus-worker-bgpu-node-1cpugone \(last seen .*\)0/),
      expect.stringMatching(/^zeus-worker-cgpu-node-1webgpu \(text encoder on cpu\)device auto/),
    ]);
    // Why the GPU it preferred is idle, said where the operator looks.
    const notices = within(table).getByRole('list', { name: 'zeus-worker-c device notices' });
    expect(notices.textContent).toBe(
      'device auto runs on webgpu: cuda was refused: libcudnn.so.9: cannot open shared object file',
    );
  });
});
