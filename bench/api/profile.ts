/**
 * CPU profiles of every process of a system while wrk loads it (the submit benchmark, after its
 * measured rounds, so that profiling slows none of them), written to `dir`:
 *
 * - Caddy: Go's CPU profile from its admin API (`/debug/pprof/profile?seconds=N`):
 *   `<name>.caddy.pb.gz` (`go tool pprof` reads it).
 * - Node processes (API servers, ceilings): V8's, recorded between two SIGUSR2 by the
 *   preloaded cpu-profiler.ts: `<name>.<process>.cpuprofile` (Chrome DevTools, speedscope).
 * - This process, when it supervises the system (Zeus: it copies every process's log lines):
 *   the same, through the inspector: `<name>.supervisor.cpuprofile`.
 * - Redis: INFO commandstats after CONFIG RESETSTAT, and its CPU from INFO cpu:
 *   `<name>.redis.txt`.
 *
 * Then `<name>.summary.json` and `<name>.summary.txt`: where each process's time went
 * (profile-summary.ts), per request.
 */
import { readFile, rename, stat, writeFile, mkdir } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeRedis, connectRedis } from '@zeus/core';
import { fetchVia } from '../../deploy/endpoints.ts';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import {
  formatSummary,
  mergeSummaries,
  summarizeGoProfile,
  summarizeV8Profile,
  type ProfileSummary,
  type V8Profile,
} from '../lib/profile-summary.ts';
import { formatRedisSummary, summarizeRedis, type RedisSummary } from '../lib/redis-summary.ts';
import { CpuMeter } from '../lib/proc.ts';
import type { SubmitSystem } from './systems.ts';
import { runWrk, type LoadOptions } from './wrk.ts';

export interface ProfileReport {
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Each process's CPU over the profiled load, from /proc, in milliseconds. */
  readonly cpuMs: Readonly<Record<string, number>>;
  readonly files: readonly string[];
  readonly processes: readonly ProfileSummary[];
  readonly redis: RedisSummary | null;
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await stat(path);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`No profile at ${path} after ${timeoutMs} ms.`);
      await sleep(100);
    }
  }
}

export async function profileRun(options: {
  readonly name: string;
  readonly system: SubmitSystem;
  readonly load: LoadOptions;
  readonly dir: string;
  readonly log: (line: string) => void;
}): Promise<ProfileReport> {
  const { name, system, load, dir } = options;
  await mkdir(dir, { recursive: true });
  const pids = system.pids();
  const nodes = system.profiledNodes.map((process) => {
    const pid = pids.get(process);
    if (pid === undefined) throw new Error(`${process} is not running.`);
    return { process, pid };
  });
  const redis =
    system.redisUrl === null
      ? null
      : connectRedis(system.redisUrl, { name: 'bench-profile', role: 'requests' });
  try {
    await redis?.config('RESETSTAT');
    const cpuBefore = (await redis?.info('cpu')) ?? '';
    const caddyProfile = fetchVia(
      system.caddyAdmin,
      `/debug/pprof/profile?seconds=${load.seconds}`,
    ).then(async (response) => {
      if (!response.ok) throw new Error(`Caddy's profile: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    });
    caddyProfile.catch(() => undefined);
    // The profiles' shares are taken of each process's CPU over the same time, from /proc
    // (this process's profile starts after the meter has listed the processes).
    const meter = new CpuMeter(pids, { withDescendants: true });
    meter.start();
    const ownBefore = process.cpuUsage();
    const session = system.supervised ? new Session() : null;
    session?.connect();
    await session?.post('Profiler.enable');
    await session?.post('Profiler.start');
    for (const { pid } of nodes) process.kill(pid, 'SIGUSR2');
    const result = await runWrk(load);
    for (const { pid } of nodes) process.kill(pid, 'SIGUSR2');
    const own = (await session?.post('Profiler.stop'))?.profile;
    session?.disconnect();
    const ownUsage = process.cpuUsage(ownBefore);
    const cpuMs: Record<string, number> = {
      ...Object.fromEntries(
        Object.entries(meter.stop()).map(([process, seconds]) => [process, seconds * 1000]),
      ),
      ...(system.supervised ? { supervisor: (ownUsage.user + ownUsage.system) / 1000 } : {}),
      'load generator (wrk)': result.cpuSeconds * 1000,
    };
    const requests = result.accepted;

    const files: string[] = [];
    const processes: ProfileSummary[] = [];
    const keep = async (file: string, content: string | Uint8Array): Promise<void> => {
      await writeFile(join(dir, file), content);
      files.push(file);
    };
    const caddy = await caddyProfile;
    await keep(`${name}.caddy.pb.gz`, caddy);
    processes.push(
      summarizeGoProfile(caddy, {
        process: 'caddy',
        requests,
        ...(cpuMs['caddy'] === undefined ? {} : { cpuMs: cpuMs['caddy'] }),
      }),
    );
    const nodeSummaries: ProfileSummary[] = [];
    for (const { process: processName, pid } of nodes) {
      const written = join(dir, `${pid}.cpuprofile`);
      await waitForFile(written, 30_000);
      const file = `${name}.${processName}.cpuprofile`;
      await rename(written, join(dir, file));
      files.push(file);
      const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as V8Profile;
      nodeSummaries.push(
        summarizeV8Profile(profile, {
          process: processName,
          requests,
          root: REPOSITORY_ROOT,
          ...(cpuMs[processName] === undefined ? {} : { cpuMs: cpuMs[processName] }),
        }),
      );
    }
    if (nodeSummaries.length > 1) {
      processes.push(mergeSummaries(`${nodeSummaries.length} servers together`, nodeSummaries));
    }
    processes.push(...nodeSummaries);
    if (own !== undefined) {
      await keep(`${name}.supervisor.cpuprofile`, JSON.stringify(own));
      processes.push(
        summarizeV8Profile(own as V8Profile, {
          process: 'bench process (supervisor)',
          requests,
          root: REPOSITORY_ROOT,
          ...(cpuMs['supervisor'] === undefined ? {} : { cpuMs: cpuMs['supervisor'] }),
        }),
      );
    }
    let redisSummary: RedisSummary | null = null;
    if (redis !== null) {
      const commandstats = await redis.info('commandstats');
      const cpuAfter = await redis.info('cpu');
      await keep(`${name}.redis.txt`, `${cpuBefore}\n${cpuAfter}\n${commandstats}`);
      redisSummary = summarizeRedis({
        process: 'redis',
        requests,
        commandstats,
        cpuBefore,
        cpuAfter,
      });
    }
    const perRequest = (ms: number): string => `${Math.round((ms * 1000) / Math.max(requests, 1))}`;
    const text = [
      `${name}: ${requests} requests in ${result.durationSeconds.toFixed(1)} s ` +
        `(${Math.round(result.requestsPerSecond)}/s, profiled: slower than unprofiled)`,
      `CPU per request (µs, /proc): ${Object.entries(cpuMs)
        .map(([process, ms]) => `${process} ${perRequest(ms)}`)
        .join(', ')}`,
      ...processes.flatMap((summary) => formatSummary(summary)),
      ...(redisSummary === null ? [] : formatRedisSummary(redisSummary)),
    ];
    const report: ProfileReport = {
      requests,
      requestsPerSecond: Math.round(result.requestsPerSecond),
      cpuMs: Object.fromEntries(
        Object.entries(cpuMs).map(([process, ms]) => [process, Math.round(ms)]),
      ),
      files,
      processes,
      redis: redisSummary,
    };
    await keep(`${name}.summary.json`, `${JSON.stringify(report, null, 2)}\n`);
    await keep(`${name}.summary.txt`, `${text.join('\n')}\n`);
    for (const line of text) options.log(`  ${line}`);
    return report;
  } finally {
    if (redis !== null) await closeRedis(redis);
  }
}
