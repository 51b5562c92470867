/** Redis's command table and CPU per request, from INFO text made here. */
import { describe, expect, it } from 'vitest';
import { summarizeRedis } from '../lib/redis-summary.ts';

describe('summarizeRedis', () => {
  it('gives calls and time per request, the most time first, and the CPU between two INFOs', () => {
    const summary = summarizeRedis({
      process: 'redis',
      requests: 1_000,
      commandstats:
        '# Commandstats\r\ncmdstat_hset:calls=1000,usec=3000,usec_per_call=3.00,rejected_calls=0' +
        '\r\ncmdstat_lpush:calls=1000,usec=2000,usec_per_call=2.00\r\ncmdstat_ping:calls=4,usec=1',
      cpuBefore: '# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.0\r\n',
      cpuAfter: '# CPU\r\nused_cpu_sys:1.525\r\nused_cpu_user:2.005\r\n',
    });
    expect(summary.cpuUsPerRequest).toBe(30);
    expect(summary.commands).toEqual([
      { command: 'hset', calls: 1000, callsPerRequest: 1, usPerCall: 3, usPerRequest: 3 },
      { command: 'lpush', calls: 1000, callsPerRequest: 1, usPerCall: 2, usPerRequest: 2 },
      { command: 'ping', calls: 4, callsPerRequest: 0.004, usPerCall: 0.25, usPerRequest: 0 },
    ]);
  });
});
