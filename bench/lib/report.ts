/**
 * Figures, the table printed at the end, and the JSON written beside it
 * (bench-results/<timestamp>.json and bench-results/latest.json, the same numbers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round, type MachineInfo } from './machine.ts';
import { spreadOf, type RunSpread } from './stats.ts';

/** A duration as a person reads it: milliseconds below 10 s, else seconds. */
export function seconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** A goal a figure is held to; `better` says which direction is good. */
export interface Goal {
  readonly better: 'higher' | 'lower';
  readonly target: number;
  /** How the goal reads, e.g. "≥ 1440 (3 × 480)". */
  readonly text: string;
}

export interface Figure {
  readonly benchmark: string;
  readonly name: string;
  readonly unit: string;
  readonly spread: RunSpread;
  readonly goal?: Goal;
  /** Whether the median meets the goal; absent without one. */
  readonly met?: boolean;
  /** The 1-minute load average when each run ended. */
  readonly load?: readonly number[];
  /** Cores that processes outside the benchmark used during each run. */
  readonly others?: readonly number[];
}

export function figure(
  benchmark: string,
  name: string,
  unit: string,
  runs: readonly number[],
  options: {
    readonly goal?: Goal;
    readonly load?: readonly number[];
    readonly others?: readonly number[];
  } = {},
): Figure {
  const spread = spreadOf(runs);
  const { goal, load, others } = options;
  return {
    benchmark,
    name,
    unit,
    spread,
    ...(goal === undefined
      ? {}
      : {
          goal,
          met:
            goal.better === 'higher' ? spread.median >= goal.target : spread.median <= goal.target,
        }),
    ...(load === undefined ? {} : { load }),
    ...(others === undefined ? {} : { others }),
  };
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly figures: readonly Figure[];
  /** Each benchmark's own details: settings, per-run breakdowns, what could not be measured. */
  readonly details: Readonly<Record<string, unknown>>;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits });
}

/**
 * The table: one row per figure, median first, then the spread over runs, the goal, and how
 * busy the machine was in each run (the load average; the cores others used, where measured).
 */
export function formatTable(figures: readonly Figure[]): string {
  const header = [
    'benchmark',
    'figure',
    'median',
    'unit',
    'min – max',
    'runs',
    'goal',
    'load',
    'others (cores)',
  ];
  const rows = figures.map((f) => [
    f.benchmark,
    f.name,
    formatNumber(f.spread.median),
    f.unit,
    f.spread.runs.length > 1 ? `${formatNumber(f.spread.min)} – ${formatNumber(f.spread.max)}` : '',
    String(f.spread.runs.length),
    f.goal === undefined ? '' : `${f.goal.text} ${f.met === true ? 'met' : 'NOT met'}`,
    f.load === undefined ? '' : f.load.map((l) => l.toFixed(1)).join(' '),
    f.others === undefined ? '' : f.others.map((c) => c.toFixed(2)).join(' '),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === 2 || column === 5
          ? cell.padStart(widths[column] ?? 0)
          : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

/** Writes the report as `<dir>/<timestamp>.json` and `<dir>/latest.json`; returns both paths. */
export async function writeReport(dir: string, report: BenchReport): Promise<readonly string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const paths = [join(dir, `${stamp}.json`), join(dir, 'latest.json')];
  for (const path of paths) await writeFile(path, text);
  return paths;
}
