/** CPU time and memory of processes, read from /proc (Linux): where a benchmark's load goes. */
import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * CPU seconds the whole machine has been busy so far, every process and the kernel together
 * (the first line of /proc/stat: all but idle and iowait). Less the benchmark's own processes
 * over a run, it is what everything else on the machine used meanwhile.
 */
export function machineBusySeconds(statText = readFileSync('/proc/stat', 'utf8')): number {
  const line = statText.split('\n', 1)[0] ?? '';
  const [label, ...ticks] = line.trim().split(/\s+/);
  if (label !== 'cpu' || ticks.length < 8) throw new Error('Unexpected /proc/stat.');
  // user nice system idle iowait irq softirq steal (guest time is already in user and nice).
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    CLOCK_TICKS
  );
}

/** `pid` and every process below it (gunicorn's worker under its master), read from /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while listing
    }
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = children.get(parent) ?? [];
    siblings.push(Number(entry));
    children.set(parent, siblings);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}

function cpuSecondsIfRunning(pid: number): number | null {
  try {
    return cpuSeconds(pid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * CPU seconds of named processes between `start()` and `stop()`. With `withDescendants`, a
 * name counts its process and every process below it at `start()`.
 */
export class CpuMeter {
  private readonly before = new Map<string, ReadonlyMap<number, number>>();

  constructor(
    private readonly pids: ReadonlyMap<string, number>,
    private readonly options: { readonly withDescendants?: boolean } = {},
  ) {}

  start(): void {
    for (const [name, pid] of this.pids) {
      const tree = this.options.withDescendants === true ? processTree(pid) : [pid];
      const times = new Map<number, number>();
      for (const member of tree) {
        const seconds = cpuSecondsIfRunning(member);
        if (seconds !== null) times.set(member, seconds);
      }
      this.before.set(name, times);
    }
  }

  /** CPU seconds each process used since `start()`; one that has exited meanwhile is left out. */
  stop(): Record<string, number> {
    const used: Record<string, number> = {};
    for (const [name, times] of this.before) {
      let sum = 0;
      let running = false;
      for (const [pid, before] of times) {
        const now = cpuSecondsIfRunning(pid);
        if (now === null) continue;
        running = true;
        sum += now - before;
      }
      if (running) used[name] = sum;
    }
    return used;
  }
}
