import { createLogger } from '@zeus/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerMetrics } from './metrics.ts';
import { startStatusServer, type StatusServer } from './status-server.ts';

/**
 * One sample's value from Prometheus's text format (`name{labels}`, labels in any order), or
 * undefined when absent.
 */
function sample(text: string, line: string): number | undefined {
  const key = (name: string, labels: string): string =>
    `${name}{${labels.split(',').filter(Boolean).sort().join(',')}}`;
  const wanted = /^([^{]+)\{(.*)\}$/.exec(line);
  if (wanted === null) throw new Error(`not a sample: ${line}`);
  for (const row of text.split('\n')) {
    const match = /^([^{ ]+)\{(.*)\} (\S+)$/.exec(row);
    if (match !== null && key(match[1]!, match[2]!) === key(wanted[1]!, wanted[2]!)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('WorkerMetrics', () => {
  it('times each stage of a finished job, and counts outcomes and failure codes', async () => {
    const metrics = new WorkerMetrics({ model: 'tiny-random', device: 'cpu' });
    metrics.jobStarted(0);
    metrics.stage('ENCODING_PROMPT', 1_000);
    metrics.stage('DENOISING', 1_500);
    metrics.stage('DENOISING', 2_000);
    metrics.stage('DECODING', 9_500);
    metrics.stage('SAVING', 10_000);
    metrics.jobEnded('succeeded', undefined, 10_250);
    metrics.jobStarted(20_000);
    metrics.stage('ENCODING_PROMPT', 20_100);
    metrics.jobEnded('failed', 'ENCODER_FAILED', 20_200);
    metrics.setModelReady(true);
    metrics.heartbeatWritten(new Date('2026-01-01T00:00:00Z'));

    const text = await metrics.registry.metrics();
    const labels = 'model="tiny-random",device="cpu"';
    const stageSum = (stage: string): number | undefined =>
      sample(text, `zeus_worker_stage_duration_seconds_sum{stage="${stage}",${labels}}`);
    // Both jobs loaded (1 s and 0.1 s); only the finished one's last stage counts.
    expect(stageSum('LOADING_MODEL')).toBeCloseTo(1.1);
    expect(stageSum('DENOISING')).toBe(8);
    expect(stageSum('SAVING')).toBe(0.25);
    // The failed job's interrupted stage is not counted as a stage time.
    expect(stageSum('ENCODING_PROMPT')).toBe(0.5);
    expect(sample(text, `zeus_worker_jobs_total{outcome="succeeded",${labels}}`)).toBe(1);
    expect(sample(text, `zeus_worker_jobs_total{outcome="failed",${labels}}`)).toBe(1);
    expect(sample(text, `zeus_worker_job_failures_total{code="ENCODER_FAILED",${labels}}`)).toBe(1);
    expect(
      sample(text, `zeus_worker_job_duration_seconds_sum{outcome="succeeded",${labels}}`),
    ).toBe(10.25);
    expect(sample(text, `zeus_worker_model_ready{${labels}}`)).toBe(1);
    expect(sample(text, `zeus_worker_busy{${labels}}`)).toBe(0);
    expect(sample(text, `zeus_worker_last_heartbeat_timestamp_seconds{${labels}}`)).toBe(
      1_767_225_600,
    );
    expect(text).not.toMatch(/zeus_gpu_memory/);
  });

  it('reports GPU memory when the provider tells it, and nothing when it does not', async () => {
    let reading: { usedBytes: number; totalBytes: number } | undefined = {
      usedBytes: 3 * 2 ** 30,
      totalBytes: 80 * 2 ** 30,
    };
    const metrics = new WorkerMetrics({
      model: 'tiny-random',
      device: 'cuda',
      gpuMemory: () => Promise.resolve(reading),
    });
    const labels = 'gpu="0",model="tiny-random",device="cuda"';
    const first = await metrics.registry.metrics();
    expect(sample(first, `zeus_gpu_memory_used_bytes{${labels}}`)).toBe(3 * 2 ** 30);
    expect(sample(first, `zeus_gpu_memory_total_bytes{${labels}}`)).toBe(80 * 2 ** 30);
    reading = undefined;
    const second = await metrics.registry.metrics();
    expect(sample(second, `zeus_gpu_memory_used_bytes{${labels}}`)).toBeUndefined();
  });
});

describe('the status server', () => {
  let server: StatusServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('answers /healthz with what is wrong, /metrics for Prometheus, and nothing else', async () => {
    const metrics = new WorkerMetrics({ model: 'tiny-random', device: 'cpu' });
    let problems: string[] = ['model: loading: Loading the transformer.'];
    server = await startStatusServer({
      address: { host: '127.0.0.1', port: 0 },
      registry: metrics.registry,
      health: () => Promise.resolve({ problems, details: { workerId: 'w1', jobId: null } }),
      logger: createLogger('test', 'silent'),
    });
    const base = `http://127.0.0.1:${'port' in server.address ? server.address.port : 0}`;
    const loading = await fetch(`${base}/healthz`);
    expect(loading.status).toBe(503);
    expect(await loading.json()).toEqual({
      status: 'unavailable',
      problems: ['model: loading: Loading the transformer.'],
      workerId: 'w1',
      jobId: null,
    });
    problems = [];
    const ready = await fetch(`${base}/healthz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', problems: [] });

    const scraped = await fetch(`${base}/metrics`);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scraped.text()).toMatch(/^# HELP zeus_worker_jobs_total/m);
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
