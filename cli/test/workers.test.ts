import { describe, expect, it } from 'vitest';
import type { WorkerInfo } from '@zeus/client';
import { parseCommand, UsageError } from '../src/args.ts';
import { formatWorkers } from '../src/commands.ts';

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
    modelStatus: null,
    currentJobId: null,
    currentJob: null,
    jobsDone: 0,
    lastSeenAt: '2026-11-27T11:59:58.000Z',
    startedAt: '2026-11-27T10:00:00.000Z',
    ...fields,
  };
}

describe('zeus workers', () => {
  it('takes the common options and nothing else', () => {
    expect(parseCommand(['workers', '--json'], { ZEUS_URL: 'http://zeus:8080' })).toEqual({
      name: 'workers',
      url: 'http://zeus:8080',
      json: true,
      apiKey: null,
    });
    expect(() => parseCommand(['workers', 'extra'], {})).toThrow(/takes no arguments/);
    expect(() => parseCommand(['workers', '--first', '3'], {})).toThrow(UsageError);
  });

  it('prints a summary and one aligned line per worker', () => {
    const text = formatWorkers(
      [
        worker({
          id: 'zeus-worker-7c9f-1',
          jobsDone: 41,
          currentJobId: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
          currentJob: {
            id: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
            progress: 0.5,
            settings: { prompt: 'a red fox' },
          },
        }),
        worker({ id: 'zeus-worker-7c9f-2', host: 'gpu-node-2', jobsDone: 3 }),
        worker({
          id: 'zeus-worker-old',
          status: 'GONE',
          ready: false,
          device: 'cpu',
          lastSeenAt: '2026-11-27T11:50:00.000Z',
        }),
      ],
      'http://zeus:8080',
      NOW,
    );
    expect(text).toBe(
      [
        'Zeus at http://zeus:8080: 2 workers online, 1 gone',
        '  zeus-worker-7c9f-1  ONLINE  cuda  gpu-node-1  41 done  generating 50 % of “a red fox”',
        '  zeus-worker-7c9f-2  ONLINE  cuda  gpu-node-2  3 done   idle',
        '  zeus-worker-old     GONE    cpu   gpu-node-1  0 done   last seen 10 min ago',
        '',
      ].join('\n'),
    );
    expect(formatWorkers([], 'http://zeus:8080', NOW)).toBe(
      'Zeus at http://zeus:8080: no worker seen in the last hour.\n',
    );
  });
});
