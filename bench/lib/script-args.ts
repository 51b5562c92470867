/**
 * The command line of a stand-alone benchmark script (`npm run bench:t5` and the like):
 * `--help` prints the script's usage and exits 0; an unknown option, a missing value or a
 * value the script refuses prints the problem and the usage on stderr and exits 2, without a
 * stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; strict: true }>
>['values'];

export function scriptArgs<const O extends Options>(
  usage: string,
  options: O,
  argv: readonly string[] = process.argv.slice(2),
): { readonly values: Values<O>; readonly fail: (problem: string) => never } {
  const fail = (problem: string): never => {
    process.stderr.write(`${problem}\n\n${usage}\n`);
    process.exit(2);
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return { values: parseArgs({ args: [...argv], options, strict: true }).values, fail };
  } catch (error) {
    return fail((error as Error).message);
  }
}
