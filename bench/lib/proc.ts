/** CPU time and memory of processes, read from /proc (Linux): where a benchmark's load goes. */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (100 on Linux everywhere Zeus runs). */
const CLOCK_TICKS = 100;

/** User + system CPU seconds the process has used so far, all threads together. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident memory in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`No VmRSS for process ${pid}.`);
  return Number(match[1]) * 1024;
}

/** CPU seconds of named processes between `start()` and `stop()`. */
export class CpuMeter {
  private readonly before = new Map<string, number>();

  constructor(private readonly pids: ReadonlyMap<string, number>) {}

  start(): void {
    for (const [name, pid] of this.pids) this.before.set(name, cpuSeconds(pid));
  }

  /** CPU seconds each process used since `start()`; one that has exited meanwhile is left out. */
  stop(): Record<string, number> {
    const used: Record<string, number> = {};
    for (const [name, pid] of this.pids) {
      let now: number;
      try {
        now = cpuSeconds(pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      used[name] = now - (this.before.get(name) ?? 0);
    }
    return used;
  }
}
