/**
 * Model stages, from the model benchmarks (bench/t5.ts, bench/transformer.ts, bench/vae.ts) run
 * as they are, each in its own process, at reduced sizes a 2-core CPU runs in seconds: the
 * figures are for comparing changes on one machine, not the production model's speed (see
 * each script for the full sizes and GPU flags). Random weights are written once into the
 * conversion cache (the OS temp folder) and reused.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Benchmark } from '../lib/benchmark.ts';
import { machineLoad } from '../lib/machine.ts';
import { figure, type Figure } from '../lib/report.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Stage {
  readonly key: string;
  readonly script: string;
  readonly args: (runs: number) => readonly string[];
  /** The figure's name, saying at which reduced size it was measured. */
  readonly name: string;
  readonly unit: 'ms';
  /** Per-run times from the script's output. */
  readonly parse: (output: string) => readonly number[];
}

const STAGES: readonly Stage[] = [
  {
    key: 't5',
    script: 'bench/t5.ts',
    args: (runs) => ['--runs', String(Math.max(runs, 3))],
    name: 'text encoder (T5, d 512, 4 layers, 256 tokens): encode',
    unit: 'ms',
    parse: (output) => {
      const json = JSON.parse(output.slice(output.indexOf('{'))) as {
        encodeMsMean: number;
        encodeMsMin: number;
      };
      return [json.encodeMsMean];
    },
  },
  {
    key: 'transformer',
    script: 'bench/transformer.ts',
    args: (runs) => ['--layers', '2', '--runs', String(runs)],
    name: 'transformer (2B, 2 of 28 layers, 256x256x9): one step',
    unit: 'ms',
    parse: (output) => [...output.matchAll(/^ {2}run \d+: (\d+) ms$/gm)].map((m) => Number(m[1])),
  },
  {
    key: 'vae',
    script: 'bench/vae.ts',
    args: (runs) => ['--base-channels', '32', '--runs', String(runs)],
    name: 'VAE decoder (base channels 32 of 128, 128x96x57): one pass',
    unit: 'ms',
    parse: (output) =>
      [...output.matchAll(/^run \d+: one pass ([\d.]+) s/gm)].map((m) => Number(m[1]) * 1000),
  },
];

export const modelBenchmark: Benchmark = {
  name: 'model',
  description: 'per-stage model times from bench/t5.ts, transformer.ts, vae.ts at reduced sizes',
  settings: {},
  run: async (options) => {
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {
      pipelineBenchmark:
        'stages come from the per-model scripts at reduced sizes; the whole pipeline stage by ' +
        'stage is `npm run bench:pipeline` (figures in docs/performance.md)',
    };
    for (const stage of STAGES) {
      options.log(`model: ${stage.script} ${stage.args(options.runs).join(' ')}`);
      try {
        const { stdout } = await run(
          process.execPath,
          ['--import', 'tsx', stage.script, ...stage.args(options.runs)],
          { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
        );
        const times = stage.parse(stdout);
        if (times.length === 0) throw new Error(`no timings in its output:\n${stdout}`);
        figures.push(
          figure('model', stage.name, stage.unit, times, { load: [machineLoad().load1] }),
        );
        details[stage.key] = { args: stage.args(options.runs), times, output: stdout };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        options.log(`model: ${stage.script} failed: ${message.split('\n')[0] ?? ''}`);
        details[stage.key] = { failed: message };
      }
    }
    return { figures, details };
  },
};
