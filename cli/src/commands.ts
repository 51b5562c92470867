/**
 * The CLI's commands, given an API client and outputs: `run` is the whole program but for
 * `process`, so tests drive it in-process as well as through the bin.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  describeSettings,
  describeWorker,
  isFinal,
  summarizeWorkers,
  type Job,
  type WorkerInfo,
} from '@zeus/client';
import { parseCommand, USAGE, UsageError, type Command } from './args.ts';
import { ZeusApi, ZeusApiError } from './api.ts';
import { HumanReporter, JsonReporter, type Output, type Reporter } from './reporters.ts';

export const EXIT = {
  OK: 0,
  /** The job failed or was cancelled, or Zeus could not be reached. */
  FAILED: 1,
  /** Bad command line, or settings Zeus rejected (`BAD_USER_INPUT`). */
  USAGE: 2,
  INTERRUPTED: 130,
} as const;

export interface RunContext {
  readonly stdout: Output;
  readonly stderr: Output;
  /** stderr when it is a terminal: `generate` draws its progress bar there. */
  readonly terminal: NodeJS.WriteStream | null;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The directory `--out` is relative to. */
  readonly cwd: string;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
}

export async function run(argv: readonly string[], context: RunContext): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv, context.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    context.stderr.write(`zeus: ${error.message}\nRun "zeus --help" for usage.\n`);
    return EXIT.USAGE;
  }
  if (command.name === 'help') {
    context.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  const api = new ZeusApi(command.url, { apiKey: command.apiKey });
  switch (command.name) {
    case 'generate':
      return generate(api, command, context);
    case 'status':
      return status(api, command, context);
    case 'workers':
      return workers(api, command, context);
    case 'jobs':
      return jobs(api, command, context);
    case 'cancel':
    case 'retry':
      return control(api, command, context);
  }
}

/** Settings or a first-frame image Zeus refused: the command line's fault. */
const REFUSED_INPUT = new Set(['BAD_USER_INPUT', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE']);

const exitFor = (error: ZeusApiError): number =>
  REFUSED_INPUT.has(error.code) ? EXIT.USAGE : EXIT.FAILED;

async function generate(
  api: ZeusApi,
  command: Extract<Command, { name: 'generate' }>,
  context: RunContext,
): Promise<number> {
  const reporter: Reporter = command.json
    ? new JsonReporter(context.stdout)
    : new HumanReporter(context.stdout, context.stderr, context.terminal);
  let submitted: readonly Job[] = [];
  /** Jobs seen in a final state: not cancelled on Ctrl-C. */
  const over = new Set<string>();
  try {
    const imageId =
      command.image === null
        ? undefined
        : (await api.upload(await readImage(resolve(context.cwd, command.image)))).id;
    const input = {
      prompt: command.prompt,
      ...command.settings,
      ...(imageId === undefined ? {} : { imageId }),
    };
    const count = command.count ?? 1;
    // Several videos of one prompt: one batch, queued all or nothing, each with its own seed.
    submitted =
      count > 1
        ? (await api.submitBatch({ settings: input, count })).jobs
        : [await api.submit(input)];
    for (const job of submitted) reporter.submitted(job);
    let failed = false;
    // One after another: the subscription starts with the current state, so a job that
    // finished while an earlier one was followed is reported at once.
    for (const [index, job] of submitted.entries()) {
      const final = isFinal(job)
        ? job
        : await api.watch(
            job.id,
            {
              onUpdate: (update) => {
                reporter.update(update);
              },
              onReconnecting: () => {
                reporter.reconnecting();
              },
              onReconnected: () => {
                reporter.reconnected();
              },
            },
            context.signal,
          );
      over.add(final.id);
      if (final.status !== 'SUCCEEDED' || final.videoUrl === null) {
        reporter.jobFailed(final);
        failed = true;
        continue;
      }
      reporter.succeeded(final, api.baseUrl);
      if (!command.download) continue;
      const file = resolve(context.cwd, outputName(command.out, final.id, index, submitted.length));
      const bytes = await api.download(final.videoUrl, file);
      reporter.downloaded(final, file, bytes);
    }
    return failed ? EXIT.FAILED : EXIT.OK;
  } catch (error) {
    if (context.signal?.aborted === true) {
      const pending = submitted.filter((job) => !over.has(job.id)).map((job) => job.id);
      if (pending.length === 0 || command.keepRunning === true) {
        const what =
          pending.length === 0 ? '' : ` Job ${pending.join(', ')} goes on: see "zeus jobs".`;
        reporter.error(`Interrupted.${what}`, 'INTERRUPTED', null);
        return EXIT.INTERRUPTED;
      }
      // Ctrl-C cancels what it started (--keep-running leaves it); a second Ctrl-C quits at once.
      const cancelled = await cancelAll(api, pending);
      reporter.error(
        cancelled.length === 0
          ? `Interrupted. Could not cancel job ${pending.join(', ')}: see "zeus jobs".`
          : `Interrupted: cancelled job ${cancelled.join(', ')}.`,
        'INTERRUPTED',
        null,
      );
      return EXIT.INTERRUPTED;
    }
    if (!(error instanceof ZeusApiError)) throw error;
    reporter.error(error.message, error.code, error.field);
    return exitFor(error);
  } finally {
    reporter.close();
  }
}

/** `--out fox.mp4` for one video; fox-1.mp4, fox-2.mp4, … for several; else zeus-<id>.mp4. */
export function outputName(out: string | null, id: string, index: number, count: number): string {
  if (out === null) return `zeus-${id}.mp4`;
  if (count === 1) return out;
  const dot = out.lastIndexOf('.');
  const slash = Math.max(out.lastIndexOf('/'), out.lastIndexOf('\\'));
  return dot > slash + 1
    ? `${out.slice(0, dot)}-${index + 1}${out.slice(dot)}`
    : `${out}-${index + 1}`;
}

/** Cancels jobs, returning those now cancelled (one that finished meanwhile is left alone). */
async function cancelAll(api: ZeusApi, ids: readonly string[]): Promise<string[]> {
  const outcomes = await Promise.allSettled(ids.map((id) => api.cancel(id)));
  return outcomes.flatMap((outcome, index) =>
    outcome.status === 'fulfilled' ? [ids[index] ?? ''] : [],
  );
}

/** `zeus cancel <id>` and `zeus retry <id>`. */
async function control(
  api: ZeusApi,
  command: Extract<Command, { name: 'cancel' | 'retry' }>,
  context: RunContext,
): Promise<number> {
  try {
    if (command.name === 'cancel') {
      const job = await api.cancel(command.id);
      if (command.json) {
        context.stdout.write(
          `${JSON.stringify({ event: 'cancelled', id: job.id, status: job.status })}\n`,
        );
      } else {
        context.stdout.write(`Cancelled job ${job.id}.\n`);
      }
      return EXIT.OK;
    }
    const job = await api.retry(command.id);
    if (command.json) {
      context.stdout.write(
        `${JSON.stringify({ event: 'submitted', id: job.id, retryOf: job.retryOf, status: job.status, settings: job.settings })}\n`,
      );
    } else {
      context.stdout.write(
        `Queued job ${job.id} (retry of ${command.id}): ${describeSettings(job.settings)}\n`,
      );
    }
    return EXIT.OK;
  } catch (error) {
    return reportRequestError(error, command.json, context);
  }
}

/** The `--image` file's bytes; a file that cannot be read is the command line's fault. */
async function readImage(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code;
    throw new ZeusApiError(
      `Cannot read --image ${path}: ${why ?? 'unreadable'}.`,
      'BAD_USER_INPUT',
      'image',
    );
  }
}

async function status(
  api: ZeusApi,
  command: Extract<Command, { name: 'status' }>,
  context: RunContext,
): Promise<number> {
  try {
    const system = await api.system();
    if (command.json) {
      context.stdout.write(`${JSON.stringify(system)}\n`);
    } else {
      context.stdout.write(
        [
          `Zeus at ${command.url}`,
          `  model:    ${system.model} (${system.modelReady ? 'ready' : 'not ready'})`,
          `  workers:  ${system.workersOnline} online`,
          `  running:  ${system.running}`,
          `  queued:   ${system.queueLength} of at most ${system.maxQueued}`,
          '',
        ].join('\n'),
      );
    }
    return EXIT.OK;
  } catch (error) {
    return reportRequestError(error, command.json, context);
  }
}

async function workers(
  api: ZeusApi,
  command: Extract<Command, { name: 'workers' }>,
  context: RunContext,
): Promise<number> {
  try {
    const list = await api.workers();
    context.stdout.write(
      command.json ? `${JSON.stringify(list)}\n` : formatWorkers(list, command.url, new Date()),
    );
    return EXIT.OK;
  } catch (error) {
    return reportRequestError(error, command.json, context);
  }
}

/** `zeus workers` for people: a summary line, then one aligned line per worker (pure). */
export function formatWorkers(list: readonly WorkerInfo[], url: string, now: Date): string {
  if (list.length === 0) return `Zeus at ${url}: no worker seen in the last hour.\n`;
  const rows = list.map((worker) => {
    const description = describeWorker(worker, now);
    return [
      worker.id,
      worker.status,
      worker.device,
      worker.host,
      `${worker.jobsDone} done`,
      description.state === 'gone' ? `last seen ${description.lastSeen}` : description.doing,
    ];
  });
  const widths = rows[0]?.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        column === row.length - 1 ? cell : cell.padEnd(widths?.[column] ?? 0),
      )
      .join('  '),
  );
  return `Zeus at ${url}: ${summarizeWorkers(list)}\n${lines.map((line) => `  ${line}\n`).join('')}`;
}

async function jobs(
  api: ZeusApi,
  command: Extract<Command, { name: 'jobs' }>,
  context: RunContext,
): Promise<number> {
  try {
    const page = await api.jobs(command.first, command.after);
    if (command.json) {
      context.stdout.write(`${JSON.stringify(page)}\n`);
      return EXIT.OK;
    }
    if (page.jobs.length === 0) {
      context.stdout.write('No jobs.\n');
      return EXIT.OK;
    }
    for (const job of page.jobs) {
      const result =
        job.status === 'SUCCEEDED' && job.videoUrl !== null
          ? `${command.url}${job.videoUrl}`
          : job.status === 'FAILED'
            ? (job.error?.message ?? '')
            : '';
      context.stdout.write(
        `${job.id}  ${job.status.padEnd(9)}  ${job.createdAt}  ${describeSettings(job.settings)}\n` +
          `    ${JSON.stringify(job.settings.prompt)}${result === '' ? '' : `\n    ${result}`}\n`,
      );
    }
    context.stdout.write(
      `${page.jobs.length} of ${page.totalCount} jobs` +
        (page.hasNextPage && page.endCursor !== null
          ? `; next page: zeus jobs --after ${page.endCursor}\n`
          : '\n'),
    );
    return EXIT.OK;
  } catch (error) {
    return reportRequestError(error, command.json, context);
  }
}

function reportRequestError(error: unknown, json: boolean, context: RunContext): number {
  if (!(error instanceof ZeusApiError)) throw error;
  if (json) {
    context.stdout.write(
      `${JSON.stringify({ event: 'error', code: error.code, message: error.message, field: error.field })}\n`,
    );
  } else {
    context.stderr.write(`zeus: ${error.message}\n`);
  }
  return exitFor(error);
}
