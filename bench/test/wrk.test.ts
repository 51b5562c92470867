/** Reading wrk's output and the machine's CPU counters (bench/api/wrk.ts, bench/lib/proc.ts). */
import { describe, expect, it } from 'vitest';
import { parseWrkOutput, wrkArguments } from '../api/wrk.ts';
import { machineBusySeconds } from '../lib/proc.ts';

describe('parseWrkOutput', () => {
  const figures = {
    requests: 1_000,
    durationUs: 2_000_000,
    accepted: 990,
    rejected: 10,
    connectErrors: 0,
    readErrors: 2,
    writeErrors: 0,
    statusErrors: 10,
    timeouts: 1,
    p50Us: 1_500,
    p99Us: 25_250,
    maxUs: 40_000,
  };
  // sh's /proc/<pid>/stat: its children's times (cutime 150, cstime 50 ticks) are wrk's.
  const stat = '4242 (sh) S 1 2 3 0 -1 4194304 100 0 0 0 1 2 150 50 20 0 1 0 5 100 200';
  const stdout = [
    'Running 2s test @ http://127.0.0.1:1/graphql',
    '  2 threads and 64 connections',
    `ZEUS_WRK ${JSON.stringify(figures)}`,
    stat,
  ].join('\n');

  it('takes the figures, counts every kind of error once, and reads CPU from the stat line', () => {
    expect(parseWrkOutput(stdout)).toEqual({
      requests: 1_000,
      accepted: 990,
      // 10 rejected answers (the non-2xx among them), 2 read errors, 1 timeout.
      errors: 13,
      requestsPerSecond: 495,
      latencyP50Ms: 1.5,
      latencyP99Ms: 25.25,
      latencyMaxMs: 40,
      durationSeconds: 2,
      cpuSeconds: 2,
      errorKinds: { rejected: 10, connect: 0, read: 2, write: 0, timeout: 1 },
    });
  });

  it('fails when wrk printed no figures', () => {
    expect(() => parseWrkOutput(`Running 2s test\n${stat}`)).toThrow('wrk printed no figures');
  });

  it('runs the same command for every system: threads, connections, duration, the script', () => {
    const args = wrkArguments({
      url: 'http://127.0.0.1:8/graphql',
      threads: 2,
      connections: 64,
      seconds: 10,
      body: '{}',
    });
    expect(args.slice(0, 8)).toEqual([
      '--threads',
      '2',
      '--connections',
      '64',
      '--duration',
      '10s',
      '--timeout',
      '10s',
    ]);
    expect(args.at(-2)).toMatch(/bench\/api\/submit\.lua$/);
    expect(args.at(-1)).toBe('http://127.0.0.1:8/graphql');
  });
});

describe('machineBusySeconds', () => {
  it('adds up every CPU state but idle and iowait', () => {
    const stat = 'cpu  100 20 30 5000 40 5 6 7 0 0\ncpu0 50 10 15 2500 20 2 3 3 0 0\n';
    expect(machineBusySeconds(stat)).toBeCloseTo(1.68, 10);
  });
});
