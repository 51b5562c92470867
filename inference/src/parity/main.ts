/**
 * `npm run parity -- <dir> [--device cpu|webgpu|cuda] [--precision fp32|fp16]
 * [--only component,...]`: runs Zeus' implementation on a reference directory (see
 * reference.ts), every model on the execution provider asked for (default cpu) with graphs
 * converted in the precision asked for (default fp32), and prints, for each compared tensor,
 * the largest absolute error against the official implementation and the tolerance
 * (tolerances.ts). A component that cannot run (a tensor it needs is missing, say) is a FAIL
 * row with the reason, and the others still run. Exits 0 when every row passes, 1 when one
 * fails, 2 on bad usage, an unreadable directory, or a device or precision this machine's
 * ONNX Runtime cannot run (the reason is printed).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { probeProvider } from '../onnx/provider-choice.ts';
import { CHECKS } from './checks/index.ts';
import { Reference } from './reference.ts';
import {
  PARITY_DEVICES,
  PARITY_PRECISIONS,
  passed,
  type ParityDevice,
  type ParityPrecision,
  type ParityResult,
  type ParityTarget,
} from './types.ts';

const USAGE =
  'usage: npm run parity -- <reference-dir> [--device cpu|webgpu|cuda] ' +
  '[--precision fp32|fp16] [--only transformer,scheduler,...]';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      only: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      precision: { type: 'string', default: 'fp32' },
    },
  });
  const dir = positionals[0];
  if (dir === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (!PARITY_DEVICES.includes(values.device as ParityDevice)) {
    console.error(`Unknown device "${values.device}": ${PARITY_DEVICES.join(', ')}. ${USAGE}`);
    return 2;
  }
  if (!PARITY_PRECISIONS.includes(values.precision as ParityPrecision)) {
    console.error(
      `Unknown precision "${values.precision}": ${PARITY_PRECISIONS.join(', ')}. ${USAGE}`,
    );
    return 2;
  }
  const target: ParityTarget = {
    device: values.device as ParityDevice,
    precision: values.precision as ParityPrecision,
  };
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !CHECKS.some((check) => check.component === name));
  if (unknown !== undefined && unknown.length > 0) {
    console.error(
      `Unknown component(s): ${unknown.join(', ')}. Known: ${CHECKS.map((c) => c.component).join(', ')}`,
    );
    return 2;
  }
  let reference: Reference;
  try {
    reference = await Reference.open(resolve(dir));
  } catch (error) {
    console.error(`Cannot read the reference directory ${dir}: ${messageOf(error)}`);
    return 2;
  }
  const probe = await probeProvider(target.device, { float16: target.precision === 'fp16' });
  if (!probe.ok) {
    await reference.close();
    console.error(`Cannot run ${target.precision} on ${target.device}: ${probe.reason}`);
    return 2;
  }
  console.error(`device ${target.device}, precision ${target.precision}`);
  const results: ParityResult[] = [];
  try {
    for (const check of CHECKS) {
      if (only !== undefined && !only.includes(check.component)) continue;
      const started = performance.now();
      const seconds = (): string => ((performance.now() - started) / 1000).toFixed(2);
      try {
        const componentResults = await check.run(reference, target);
        results.push(...componentResults);
        console.error(
          `${check.component}: ${componentResults.length} tensors compared in ${seconds()} s`,
        );
      } catch (error) {
        results.push({
          name: check.component,
          maxAbsError: NaN,
          tolerance: NaN,
          passed: false,
          note: `error: ${messageOf(error)}`,
        });
        console.error(`${check.component}: failed after ${seconds()} s: ${messageOf(error)}`);
      }
    }
  } finally {
    await reference.close();
  }
  if (results.length === 0) {
    console.error('No component was compared.');
    return 1;
  }
  printTable(results);
  const failures = results.filter((result) => !passed(result));
  console.log(
    failures.length === 0
      ? `PASS: ${results.length} tensors within tolerance`
      : `FAIL: ${failures.length} of ${results.length} rows exceed their tolerance or could not run`,
  );
  return failures.length === 0 ? 0 : 1;
}

function printTable(results: readonly ParityResult[]): void {
  const rows = results.map((result) => [
    result.name,
    Number.isNaN(result.maxAbsError) ? '-' : result.maxAbsError.toExponential(2),
    Number.isNaN(result.tolerance) ? '-' : result.tolerance.toExponential(0),
    passed(result) ? 'ok' : 'FAIL',
    result.note ?? '',
  ]);
  const header = ['tensor', 'max abs error', 'tolerance', '', 'note'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/** An error's message on one line (the table and the log stay one row per problem). */
function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
}

process.exitCode = await main();
