/** What every benchmark is: a name, and a function that measures and returns its figures. */
import type { Figure } from './report.ts';

export interface BenchOptions {
  /** Runs of each measurement (the table shows their median and spread). */
  readonly runs: number;
  /** Multiplies each benchmark's duration and load (0.25 for a quick look). */
  readonly scale: number;
  /** Benchmark-specific settings from the command line (`--submit-connections 64` …). */
  readonly settings: ReadonlyMap<string, string>;
  /**
   * When set, the stack's Node processes (API servers, workers) run with `--cpu-prof` and write
   * their profiles here when they stop (open them in Chrome DevTools or speedscope).
   */
  readonly profileDir: string | undefined;
  /** Where the report goes (`--out`, bench-results/): files a benchmark writes go below it. */
  readonly outDir: string;
  /** Progress lines, for the person waiting. */
  log(line: string): void;
}

export interface BenchOutcome {
  readonly figures: readonly Figure[];
  readonly details: unknown;
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** The command-line settings it reads (`submit-duration` …), with what each means. */
  readonly settings: Readonly<Record<string, string>>;
  run(options: BenchOptions): Promise<BenchOutcome>;
}

/** A numeric setting, `--<benchmark>-<name> N` on the command line, else the fallback. */
export function numberSetting(options: BenchOptions, key: string, fallback: number): number {
  const raw = options.settings.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${key} must be a number (got "${raw}").`);
  return value;
}

/** A list of numbers, `--<key> 1000,5000`. */
export function numberListSetting(
  options: BenchOptions,
  key: string,
  fallback: readonly number[],
): readonly number[] {
  const raw = options.settings.get(key);
  if (raw === undefined) return fallback;
  const values = raw.split(',').map(Number);
  if (values.some((value) => !Number.isFinite(value))) {
    throw new Error(`--${key} must be numbers separated by commas (got "${raw}").`);
  }
  return values;
}
