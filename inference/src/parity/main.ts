/**
 * `npm run parity -- <dir> [--only component,...]`: runs Zeus' implementation on a reference
 * directory (see reference.ts) and prints, for each compared tensor, the largest absolute
 * error against the official implementation and the tolerance. A component that cannot run
 * (a tensor it needs is missing, say) is a FAIL row with the reason, and the others still run.
 * Exits 0 when every row passes, 1 when one fails, 2 on bad usage or an unreadable directory.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CHECKS } from './checks/index.ts';
import { Reference } from './reference.ts';
import { passed, type ParityResult } from './types.ts';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { only: { type: 'string' } },
  });
  const dir = positionals[0];
  if (dir === undefined) {
    console.error('usage: npm run parity -- <reference-dir> [--only transformer,scheduler,...]');
    return 2;
  }
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
  const results: ParityResult[] = [];
  try {
    for (const check of CHECKS) {
      if (only !== undefined && !only.includes(check.component)) continue;
      const started = performance.now();
      const seconds = (): string => ((performance.now() - started) / 1000).toFixed(2);
      try {
        const componentResults = await check.run(reference);
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
