import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LTX_CHECKPOINT_FILE, LTX_VIDEO_REPO } from '../src/registry.ts';
import { startHubServer, type HubServer } from '../test-support/hub-server.ts';
import { writeTinyHubRepos } from '../test-support/tiny-hub.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

let root: string;
let repos: Readonly<Record<string, string>>;
let hub: HubServer;
/** An endpoint where nothing listens. */
let closedEndpoint: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zeus-models-cli-'));
  ({ repos } = await writeTinyHubRepos(join(root, 'hub')));
  hub = await startHubServer({ repos });
  const closed = await startHubServer({ repos: {} });
  closedEndpoint = closed.url;
  await closed.close();
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The file a repository serves at `path`. */
function served(repo: string, path: string): string {
  return join(repos[repo] ?? '', ...path.split('/'));
}

describe('npm run models -- fetch', () => {
  const run = promisify(execFile);
  const cli = (args: string[], env: Record<string, string>) =>
    run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'models/src/cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    });

  it('fetches the model from HF_ENDPOINT and prints where its files are', async () => {
    const modelsDir = join(root, 'cli-models');
    const { stdout, stderr } = await cli(
      ['fetch', '--model', 'ltxv-2b-0.9.6-distilled', '--dir', modelsDir],
      {
        HF_ENDPOINT: hub.url,
      },
    );
    const files = JSON.parse(stdout) as { checkpoint: string; textEncoderShards: string[] };
    expect(files.checkpoint).toBe(
      join(modelsDir, 'ltxv-2b-0.9.6-distilled', 'checkpoint', LTX_CHECKPOINT_FILE),
    );
    expect(await sha256Of(files.checkpoint)).toBe(
      await sha256Of(served(LTX_VIDEO_REPO, LTX_CHECKPOINT_FILE)),
    );
    expect(files.textEncoderShards).toHaveLength(4);
    expect(stderr).toContain(`from ${hub.url}`);
  });

  it('exits with status 1 and the advice when the Hub is down', async () => {
    const failure = await cli(['fetch', '--dir', join(root, 'cli-down')], {
      HF_ENDPOINT: closedEndpoint,
    }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('cannot be reached');
    expect(failure?.stderr).toContain('HF_ENDPOINT');
  });
});
