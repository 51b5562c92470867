/**
 * `npm run models -- fetch [--model <name>] [--dir <models-dir>]`: downloads (or generates)
 * the model's files into the models directory, with a progress bar, and prints where they are.
 *
 * Defaults: `--model` from ZEUS_MODEL (else ltxv-2b-0.9.6-distilled), `--dir` from
 * ZEUS_MODELS_DIR (else <repo>/models, where a folder an older Zeus left in models/cache is
 * moved first). The Hub is HF_ENDPOINT, with HF_TOKEN if set.
 * Exit status: 0 done, 1 the files could not be fetched, 2 bad arguments or settings.
 */
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { HubDownloadError } from './hub/errors.ts';
import { HubSettingsError, hubSettingsFromEnv } from './hub/settings.ts';
import { createProgressRenderer } from './progress-bar.ts';
import { DEFAULT_MODEL, isModelName, MODEL_NAMES, modelSpec } from './registry.ts';
import { ensureModelFiles } from './store/model-files.ts';
import { adoptLegacyModelDir, modelDir, modelsDirFromEnv } from './store/models-dir.ts';

const USAGE = `Usage: npm run models -- fetch [--model <${MODEL_NAMES.join('|')}>] [--dir <models-dir>]`;

class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, ...rest] = parsed.positionals;
  if (command !== 'fetch' || rest.length > 0)
    throw new UsageError(`Unknown command: ${parsed.positionals.join(' ') || '(none)'}`);

  const name = parsed.values.model ?? process.env['ZEUS_MODEL'] ?? DEFAULT_MODEL;
  if (!isModelName(name))
    throw new UsageError(`Unknown model "${name}"; choose one of: ${MODEL_NAMES.join(', ')}`);
  const modelsDir = parsed.values.dir ?? modelsDirFromEnv();
  const spec = modelSpec(name);
  const hub = spec.kind === 'hub' ? hubSettingsFromEnv() : undefined;
  const dir = modelDir(modelsDir, name);
  const legacy = await adoptLegacyModelDir(modelsDir, name);
  if (legacy.moved) process.stderr.write(`Moved ${legacy.from} to ${legacy.to}\n`);
  else if ('error' in legacy) {
    process.stderr.write(
      `Could not move ${legacy.from} to ${legacy.to} (${legacy.error}): move it by hand, or ` +
        `set ZEUS_MODELS_DIR=${dirname(legacy.from)}. Fetching into ${dir} meanwhile.\n`,
    );
  }

  process.stderr.write(
    `Fetching ${name} into ${dir}${hub === undefined ? '' : ` from ${hub.endpoint}`}\n`,
  );
  const renderer = createProgressRenderer();
  const abort = new AbortController();
  const onSignal = () => {
    abort.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let files;
  try {
    files = await ensureModelFiles(spec, dir, {
      onProgress: renderer.onProgress,
      signal: abort.signal,
      ...(hub === undefined ? {} : { hub }),
    });
  } finally {
    renderer.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stderr.write(`The ${name} model files are ready in ${dir}\n`);
  process.stdout.write(`${JSON.stringify(files, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof HubSettingsError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof HubDownloadError) {
      process.stderr.write(`\n${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
