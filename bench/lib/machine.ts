/** The machine a benchmark ran on, and the versions of what it ran: figures mean nothing without. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly commit: string;
}

export function describeMachine(): MachineInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    os: osRelease(),
    versions: {
      node: process.version,
      redis: firstMatch('redis-server', ['--version'], /v=(\S+)/),
      caddy: firstMatch('caddy', ['version'], /^(\S+)/),
      ffmpeg: firstMatch('ffmpeg', ['-version'], /^ffmpeg version (\S+)/),
    },
    commit: firstMatch('git', ['describe', '--always', '--dirty'], /^(\S+)/),
  };
}

/** The 1-minute load average and free memory now: how busy the machine was around a figure. */
export function machineLoad(): { readonly load1: number; readonly freeMemoryGiB: number } {
  return { load1: round(loadavg()[0] ?? 0, 2), freeMemoryGiB: round(freemem() / 2 ** 30, 1) };
}

function osRelease(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function firstMatch(command: string, args: readonly string[], pattern: RegExp): string {
  try {
    const output = execFileSync(command, [...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return pattern.exec(output)?.[1] ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
