/**
 * `npm run bench`: Zeus's benchmarks (not tests). Each starts what it measures, loads it from
 * other processes on loopback, bounds its own time and load, and stops by itself. The figures
 * are printed as a table and written as JSON to bench-results/<timestamp>.json and
 * bench-results/latest.json.
 *
 *   npm run bench -- [--only submit,fanout,worker,model,workers,jobs,webapp] [--runs 3]
 *     [--scale 1] [--out bench-results] [--profile DIR] [--<benchmark>-<setting> value …] [--help]
 *
 * `--scale` multiplies durations and loads (0.25 for a quick look); `--help` lists every
 * benchmark's settings; `--profile DIR` runs the stack's Node processes with `--cpu-prof` (the
 * submit benchmark profiles every process of one extra run, into DIR or
 * bench-results/profiles/). See docs/BENCHMARKS.md for what each figure means.
 */
import { resolve } from 'node:path';
import { submitBenchmark } from './api/submit.ts';
import { fanoutBenchmark } from './fanout/fanout.ts';
import { workerBenchmark } from './worker/worker-overhead.ts';
import { modelBenchmark } from './model/model.ts';
import { workersBenchmark } from './workers/throughput.ts';
import { jobsBenchmark } from './jobs/job-control.ts';
import { webappBenchmark } from './webapp/first-screen.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { describeMachine, machineLoad } from './lib/machine.ts';
import { formatTable, writeReport, type Figure } from './lib/report.ts';

const BENCHMARKS: readonly Benchmark[] = [
  submitBenchmark,
  fanoutBenchmark,
  workerBenchmark,
  modelBenchmark,
  workersBenchmark,
  jobsBenchmark,
  webappBenchmark,
];

interface CommandLine {
  readonly only: readonly Benchmark[];
  readonly runs: number;
  readonly scale: number;
  readonly out: string;
  readonly profileDir: string | undefined;
  readonly settings: ReadonlyMap<string, string>;
  readonly help: boolean;
}

function parseCommandLine(argv: readonly string[]): CommandLine {
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i] ?? '';
    if (token === '--help' || token === '-h') {
      help = true;
      continue;
    }
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(token);
    if (match?.[1] === undefined) throw new Error(`Unexpected argument "${token}".`);
    const value = match[2] ?? argv[(i += 1)];
    if (value === undefined) throw new Error(`--${match[1]} needs a value.`);
    values.set(match[1], value);
  }
  const take = (key: string): string | undefined => {
    const value = values.get(key);
    values.delete(key);
    return value;
  };
  const onlyNames = take('only')?.split(',') ?? BENCHMARKS.map((b) => b.name);
  const only = onlyNames.map((name) => {
    const found = BENCHMARKS.find((b) => b.name === name);
    if (found === undefined) {
      throw new Error(`Unknown benchmark "${name}": ${BENCHMARKS.map((b) => b.name).join(', ')}.`);
    }
    return found;
  });
  const runs = Number(take('runs') ?? '3');
  const scale = Number(take('scale') ?? '1');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number ≥ 1.');
  if (!(scale > 0 && scale <= 10)) throw new Error('--scale must be above 0 and at most 10.');
  const out = resolve(take('out') ?? 'bench-results');
  const profile = take('profile');
  const profileDir = profile === undefined ? undefined : resolve(profile);
  const known = new Set(BENCHMARKS.flatMap((b) => Object.keys(b.settings)));
  for (const key of values.keys()) {
    if (!known.has(key)) throw new Error(`Unknown option --${key} (see --help).`);
  }
  return { only, runs, scale, out, profileDir, settings: values, help };
}

function usage(): string {
  const lines = [
    'npm run bench -- [--only NAMES] [--runs N] [--scale X] [--out DIR] [--profile DIR]',
    '  [--<setting> VALUE …]',
    '',
  ];
  for (const benchmark of BENCHMARKS) {
    lines.push(`${benchmark.name}: ${benchmark.description}`);
    for (const [key, help] of Object.entries(benchmark.settings)) {
      lines.push(`  --${key.padEnd(28)} ${help}`);
    }
  }
  return lines.join('\n');
}

const commandLine = parseCommandLine(process.argv.slice(2));
if (commandLine.help) {
  console.log(usage());
  process.exit(0);
}

const startedAt = new Date().toISOString();
const machine = describeMachine();
const began = performance.now();
console.log(
  `Zeus benchmarks on ${machine.cpuModel} × ${machine.cores}, ${machine.memoryGiB} GiB; ` +
    `node ${machine.versions['node'] ?? '?'}, redis ${machine.versions['redis'] ?? '?'}, ` +
    `caddy ${machine.versions['caddy'] ?? '?'}, ffmpeg ${machine.versions['ffmpeg'] ?? '?'}; ` +
    `load ${machineLoad().load1}`,
);
const figures: Figure[] = [];
const details: Record<string, unknown> = {};
let failed = false;
for (const benchmark of commandLine.only) {
  const started = performance.now();
  try {
    const outcome = await benchmark.run({
      runs: commandLine.runs,
      scale: commandLine.scale,
      settings: commandLine.settings,
      profileDir: commandLine.profileDir,
      outDir: commandLine.out,
      log: (line) => {
        console.log(`  ${line}`);
      },
    });
    figures.push(...outcome.figures);
    details[benchmark.name] = {
      seconds: Math.round((performance.now() - started) / 100) / 10,
      ...(outcome.details as Record<string, unknown>),
    };
  } catch (error) {
    failed = true;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${benchmark.name} failed: ${message}`);
    details[benchmark.name] = { failed: message };
  }
}

console.log(`\n${formatTable(figures)}\n`);
const paths = await writeReport(commandLine.out, {
  startedAt,
  finishedAt: new Date().toISOString(),
  command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
  machine,
  figures,
  details,
});
console.log(
  `Written to ${paths.join(' and ')} in ${Math.round((performance.now() - began) / 1000)} s.`,
);
process.exit(failed ? 1 : 0);
