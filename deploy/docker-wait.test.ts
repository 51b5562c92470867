import { describe, expect, it } from 'vitest';
import { workersReady, type WorkerRow } from './docker-wait.ts';

describe('workersReady (when "Deployment complete." may be printed)', () => {
  const model = 'ltxv-2b-0.9.6-distilled';
  const services = ['inference', 'inference-2', 'inference-3', 'inference-4'];
  const row = (id: string, ready: boolean, overrides: Partial<WorkerRow> = {}): WorkerRow => ({
    id,
    status: 'ONLINE',
    ready,
    model,
    ...overrides,
  });

  it('waits while one of four GPUs has the model, though all four are online', () => {
    const wait = workersReady(services, model, {
      from: 'workers',
      rows: [
        row('inference-1', true),
        row('inference-2', false),
        row('inference-3', false),
        row('inference-4', false),
      ],
    });
    expect(wait).toEqual({ from: 'workers', ready: 1, online: 4, expected: 4, done: false });
  });

  it('is done once every worker of the deployment is online with the model', () => {
    const rows = [1, 2, 3, 4].map((n) => row(`inference-${n}`, true));
    expect(workersReady(services, model, { from: 'workers', rows }).done).toBe(true);
    expect(workersReady(['inference'], model, { from: 'workers', rows }).done).toBe(true);
  });

  it('does not count GONE workers, another model, or workers that are not the deployment’s', () => {
    const wait = workersReady(['inference', 'inference-2'], model, {
      from: 'workers',
      rows: [
        row('inference-1', true),
        row('inference-2', true, { status: 'GONE' }),
        row('inference-3', true),
        row('gpu-box-7', true),
        row('inference-2', true, { model: 'tiny-random' }),
      ],
    });
    expect(wait).toEqual({ from: 'workers', ready: 1, online: 2, expected: 2, done: false });
  });

  it('with API keys on, counts the worker containers Docker reports healthy', () => {
    const container = (service: string, state: string, health: string) => ({
      service,
      state,
      health,
      exitCode: 0,
    });
    const waiting = workersReady(['inference', 'inference-2'], model, {
      from: 'containers',
      rows: [
        container('inference', 'running', 'healthy'),
        container('inference-2', 'running', 'starting'),
        container('app1', 'running', 'healthy'),
      ],
    });
    expect(waiting).toEqual({ from: 'containers', ready: 1, online: 2, expected: 2, done: false });
    const done = workersReady(['inference', 'inference-2'], model, {
      from: 'containers',
      rows: [
        container('inference', 'running', 'healthy'),
        container('inference-2', 'running', 'healthy'),
      ],
    });
    expect(done.done).toBe(true);
  });

  it('is never done with nothing to wait for, or nothing answering', () => {
    expect(workersReady(services, model, { from: 'workers', rows: [] }).done).toBe(false);
    expect(workersReady(services, model, { from: 'containers', rows: [] }).done).toBe(false);
  });
});
