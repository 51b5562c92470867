/**
 * Where Redis's CPU went over a benchmark run: its commands (INFO commandstats) and its own CPU
 * time (INFO cpu), each per request. Pure functions over INFO's text, like profile-summary.ts
 * for the processes that have a profiler.
 */
import { round } from './machine.ts';

export interface RedisCommandRow {
  readonly command: string;
  readonly calls: number;
  readonly callsPerRequest: number;
  readonly usPerCall: number;
  readonly usPerRequest: number;
}

export interface RedisSummary {
  readonly process: string;
  readonly requests: number;
  /** Redis's own CPU over the run (INFO cpu), per request, in µs. */
  readonly cpuUsPerRequest: number;
  /**
   * Commands run (INFO commandstats), the most time first. A script's time (EVAL, EVALSHA)
   * includes the commands it calls, which are counted again under their own names: the rows do
   * not add up to the time in commands. What the CPU has beyond that is network and event loop.
   */
  readonly commands: readonly RedisCommandRow[];
}

/** `key:value` lines of Redis's INFO. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function redisCpuSeconds(info: ReadonlyMap<string, string>): number {
  return Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0);
}

/**
 * Commands run since CONFIG RESETSTAT (`commandstats`: INFO commandstats after the run) and the
 * CPU Redis used between two INFO cpu.
 */
export function summarizeRedis(options: {
  readonly process: string;
  readonly requests: number;
  readonly commandstats: string;
  readonly cpuBefore: string;
  readonly cpuAfter: string;
}): RedisSummary {
  const perRequest = (value: number): number => value / Math.max(options.requests, 1);
  const commands: RedisCommandRow[] = [];
  for (const [key, value] of parseInfo(options.commandstats)) {
    if (!key.startsWith('cmdstat_')) continue;
    const stats = new Map(
      value.split(',').map((pair) => pair.split('=') as [string, string | undefined]),
    );
    const calls = Number(stats.get('calls') ?? 0);
    const usec = Number(stats.get('usec') ?? 0);
    commands.push({
      command: key.slice('cmdstat_'.length),
      calls,
      callsPerRequest: round(perRequest(calls), 3),
      usPerCall: round(usec / Math.max(calls, 1), 2),
      usPerRequest: round(perRequest(usec), 2),
    });
  }
  commands.sort((a, b) => b.usPerRequest - a.usPerRequest);
  const cpu =
    redisCpuSeconds(parseInfo(options.cpuAfter)) - redisCpuSeconds(parseInfo(options.cpuBefore));
  return {
    process: options.process,
    requests: options.requests,
    cpuUsPerRequest: round(perRequest(cpu * 1e6), 1),
    commands,
  };
}

export function formatRedisSummary(summary: RedisSummary, rows = 6): string[] {
  return [
    `${summary.process}: ${summary.cpuUsPerRequest} µs CPU per request; commands ` +
      '(a script includes the commands it calls, also counted on their own):',
    ...summary.commands
      .slice(0, rows)
      .map(
        (c) =>
          `  ${c.command.padEnd(16)} ${String(c.callsPerRequest).padStart(6)} calls/req ` +
          `${String(c.usPerCall).padStart(7)} µs/call ${String(c.usPerRequest).padStart(7)} µs/req`,
      ),
  ];
}
