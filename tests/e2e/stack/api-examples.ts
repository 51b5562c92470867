/**
 * On the stack of tests/e2e/stack.test.ts (harness.ts): the documentation's API examples (the
 * blocks marked `<!-- tested: api-example … -->` in README.md and docs/), run as a user copies
 * them: the real curl through a shell, and `node watch.mjs <job-id>` from a folder that sees this
 * repository's packages. Only the address and the `<…>` placeholders change.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../../deploy/local-stack.ts';
import { holdWorker } from '../../helpers/hold-worker.ts';
import { subscriptionsStarted } from '../../helpers/subscriptions.ts';
import { graphqlRequest, type JobResult } from '../../helpers/graphql.ts';
import { eventually } from '../../helpers/eventually.ts';
import { probeVideo } from '../../helpers/video.ts';
import {
  curlGraphqlBody,
  keyPaths,
  missingFields,
  readmeApiExamples,
  shellCommands,
  substitute,
  type ShellCommand,
} from '../../helpers/readme-examples.ts';
import { execFileAsync, stack, dir, submit, SMALL } from './harness.ts';

/** The tests of `describe("the documentation's API examples, as written")`. */
export function apiExamplesAsWritten(): void {
  const examples = readmeApiExamples();
  let exampleDir: string;
  /** Filled as the examples run, in the order a reader meets them. */
  const ids = { job: '', upload: '', imageJob: '' };

  beforeAll(async () => {
    exampleDir = join(dir, 'readme');
    await mkdir(exampleDir);
    await symlink(join(REPOSITORY_ROOT, 'node_modules'), join(exampleDir, 'node_modules'));
  });

  function example(name: string, language: string): string {
    const found = examples.get(name);
    if (found === undefined) throw new Error(`No page has an API example named "${name}"`);
    expect(found.language).toBe(language);
    return found.code;
  }

  /** Runs one curl command from the docs through a shell, in the examples' folder. */
  async function curl(command: string, placeholders: Record<string, string> = {}): Promise<string> {
    const { stdout } = await execFileAsync(
      'sh',
      ['-c', substitute(command, stack.url, placeholders)],
      {
        cwd: exampleDir,
        timeout: 30_000,
      },
    );
    return stdout;
  }

  /** Runs a GraphQL curl example: no errors, and every field it selects is in the answer. */
  async function curlGraphql<Data>(
    command: string,
    placeholders: Record<string, string> = {},
  ): Promise<Data> {
    const answer = JSON.parse(await curl(command, placeholders)) as { data?: Data; errors?: [] };
    expect(answer.errors).toBeUndefined();
    expect(missingFields(curlGraphqlBody(command).query, answer.data)).toEqual([]);
    if (answer.data == null) throw new Error('no data');
    return answer.data;
  }

  /** The one command of a `sh` example. */
  function onlyCommand(name: string): ShellCommand {
    const commands = shellCommands(example(name, 'sh'));
    expect(commands).toHaveLength(1);
    return commands[0] as ShellCommand;
  }

  it('marks every example the test runs', () => {
    // The pages are read in path order, not the order a reader meets them: compare as sets.
    expect([...examples.keys()].sort()).toEqual(
      [
        'submit',
        'job',
        'watch',
        'download',
        'previews',
        'upload',
        'submit-image',
        'eta',
        'cancel-retry',
        'batch',
      ].sort(),
    );
  });

  it('submits a prompt, asks for its state, follows it with graphql-ws and downloads the MP4', async () => {
    // The tiny model finishes a job in about a second, sooner than `node watch.mjs` starts:
    // the worker is held (SIGSTOP) until the script follows the job, as it would follow the
    // real model's minutes-long jobs, so that it sees the job run.
    const release = await holdWorker(stack);
    let stdout = '';
    const script = example('watch', 'js');
    try {
      const submitted = await curlGraphql<{
        submitPrompt: { id: string; status: string; settings: { seed: number } };
      }>(onlyCommand('submit').command);
      expect(submitted.submitPrompt.status).toBe('QUEUED');
      expect(submitted.submitPrompt.settings.seed).toEqual(expect.any(Number));
      ids.job = submitted.submitPrompt.id;

      const state = await curlGraphql<{ job: { status: string; totalSteps: number } }>(
        onlyCommand('job').command,
        { 'job-id': ids.job },
      );
      expect(state.job.status).toBe('QUEUED');
      expect(state.job.totalSteps).toBe(8);

      // `node watch.mjs <job-id>`, in a folder whose node_modules is this repository's.
      await writeFile(join(exampleDir, 'watch.mjs'), substitute(script, stack.url, {}));
      const watch = execFile(process.execPath, ['watch.mjs', ids.job], { cwd: exampleDir });
      // Its first line is the job's state when it subscribed: from then on it hears every step.
      watch.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('\n')) release();
      });
      const [code] = (await once(watch, 'close')) as [number | null];
      expect(code).toBe(0);
    } finally {
      release();
    }
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const subscription = /const query = `([\s\S]*?)`;/.exec(script)?.[1] ?? '';
    for (const line of lines) {
      expect(missingFields(subscription, { jobUpdated: line })).toEqual([]);
    }
    expect(lines.at(-1)).toMatchObject({
      status: 'SUCCEEDED',
      stage: 'DONE',
      step: 8,
      totalSteps: 8,
      progress: 1,
      videoUrl: `/generated/${ids.job}/out.mp4`,
      error: null,
    });
    // It subscribed while the job waited, and heard it run.
    expect(lines[0]?.['status']).toBe('QUEUED');
    expect(lines.filter((line) => line['status'] === 'RUNNING').length).toBeGreaterThan(0);

    await curl(onlyCommand('download').command, { 'job-id': ids.job });
    expect(await probeVideo(join(exampleDir, 'out.mp4'))).toMatchObject({
      codec: 'h264',
      width: 256,
      height: 256,
      frames: 17,
    });
  });

  it("prints a running job's live previews, which Caddy serves as JPEGs", async () => {
    // The previews fragment, with the client of watch.mjs and the job's id from the command line.
    const watch = example('watch', 'js');
    const script = [
      watch.slice(0, watch.indexOf('const query')),
      'const id = process.argv[2];',
      example('previews', 'js'),
      'await client.dispose();',
    ].join('\n');
    await writeFile(join(exampleDir, 'previews.mjs'), substitute(script, stack.url, {}));
    // The worker is held until the script has subscribed (the API servers have counted one
    // more subscription), so that it sees every preview however long node takes to start.
    const release = await holdWorker(stack);
    let job: JobResult;
    let run: Promise<{ stdout: string }>;
    try {
      job = await submit({ prompt: 'a kingfisher diving', ...SMALL });
      const before = await subscriptionsStarted(stack);
      run = execFileAsync(process.execPath, ['previews.mjs', job.id], {
        cwd: exampleDir,
        encoding: 'utf8',
      });
      run.catch(() => undefined);
      await eventually(async () => {
        if ((await subscriptionsStarted(stack)) <= before) throw new Error('not subscribed yet');
      }, 60_000);
    } finally {
      release();
    }
    const { stdout } = await run;
    const urls = stdout.trimEnd().split('\n');
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url).toMatch(new RegExp(`^${stack.url}/generated/${job.id}/preview-\\d+\\.jpg$`));
    }
    const preview = await fetch(urls.at(-1) ?? '');
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('image/jpeg');
    expect([...new Uint8Array(await preview.arrayBuffer()).subarray(0, 2)]).toEqual([0xff, 0xd8]);
  });

  it('uploads a first frame, submits with it, reads its time left, cancels it and retries it', async () => {
    // fox.jpg, the picture the upload example (docs/api/image-to-video.md) uploads.
    await execFileAsync(
      'ffmpeg',
      ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=orange:s=320x240', '-frames:v', '1', 'fox.jpg'],
      { cwd: exampleDir, timeout: 30_000 },
    );
    const upload = onlyCommand('upload');
    const uploaded = JSON.parse(await curl(upload.command)) as Record<string, unknown>;
    // The example's sample answer (after the status it shows) has the same fields.
    const sample = JSON.parse((upload.answer ?? '').replace(/^\d{3} /, '')) as unknown;
    expect(keyPaths(uploaded)).toEqual(keyPaths(sample));
    expect(uploaded).toMatchObject({ type: 'jpeg', width: 320, height: 240 });
    ids.upload = String(uploaded['id']);

    // The worker is held, so the image job is still queued when it is cancelled.
    const release = await holdWorker(stack);
    try {
      const withImage = await curlGraphql<{
        submitPrompt: { id: string; settings: { image: { width: number; height: number } } };
      }>(onlyCommand('submit-image').command, { 'upload-id': ids.upload });
      expect(withImage.submitPrompt.settings.image).toMatchObject({ width: 320, height: 240 });
      ids.imageJob = withImage.submitPrompt.id;

      const eta = onlyCommand('eta');
      const timeLeft = await curlGraphql<Record<string, unknown>>(eta.command, {
        'job-id': ids.imageJob,
      });
      expect(keyPaths(timeLeft)).toEqual(
        keyPaths((JSON.parse(eta.answer ?? '') as { data: unknown }).data),
      );
      expect(timeLeft).toMatchObject({ job: { status: 'QUEUED' } });

      const [cancel, retry, ...rest] = shellCommands(example('cancel-retry', 'sh'));
      expect(rest).toEqual([]);
      const cancelled = await curlGraphql<{ cancelJob: { id: string; status: string } }>(
        cancel?.command ?? '',
        { 'job-id': ids.imageJob },
      );
      expect(cancelled.cancelJob).toEqual({ id: ids.imageJob, status: 'CANCELLED' });
      const retried = await curlGraphql<{
        retryJob: { id: string; retryOf: string; status: string; settings: { seed: number } };
      }>(retry?.command ?? '', { 'job-id': ids.imageJob });
      expect(retried.retryJob).toMatchObject({ retryOf: ids.imageJob, status: 'QUEUED' });
      expect(retried.retryJob.id).not.toBe(ids.imageJob);

      // Cancelled too: the worker takes nothing of this test's once released.
      const response = await graphqlRequest(
        stack.graphqlUrl,
        'mutation ($id: ID!) { cancelJob(id: $id) { status } }',
        { id: retried.retryJob.id },
      );
      expect(response.errors).toBeUndefined();
    } finally {
      release();
    }
  });

  it('submits a batch: each prompt with each seed, in order', async () => {
    const batch = await curlGraphql<{
      submitBatch: {
        id: string;
        jobs: { id: string; settings: { prompt: string; seed: number } }[];
      };
    }>(onlyCommand('batch').command);
    // "six jobs: the fox with seeds 1, 2, 3, then the wolf with seeds 1, 2, 3"
    expect(batch.submitBatch.jobs.map((job) => job.settings)).toEqual([
      { prompt: 'a red fox', seed: 1 },
      { prompt: 'a red fox', seed: 2 },
      { prompt: 'a red fox', seed: 3 },
      { prompt: 'a grey wolf', seed: 1 },
      { prompt: 'a grey wolf', seed: 2 },
      { prompt: 'a grey wolf', seed: 3 },
    ]);
    await Promise.all(
      batch.submitBatch.jobs.map((job) =>
        graphqlRequest(stack.graphqlUrl, 'mutation ($id: ID!) { cancelJob(id: $id) { id } }', {
          id: job.id,
        }),
      ),
    );
  });
}
