/**
 * `deploy.ts` as users run it, with --dry-run: it reads this machine's facts for real (here, as on
 * CI, a docker client without an engine, no Compose plugin, no GPU), prints what it would do and
 * changes nothing. The decisions for every other machine are unit-tested in
 * deploy/docker-plan.test.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERRIDE_FILE } from '../../deploy/compose-override.ts';
import { dockerInfo } from '../../deploy/docker-cli.ts';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-deploy-dry-run-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deploy(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'deploy.ts', ...args], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('deploy.ts --dry-run', () => {
  it('--docker: lists what this machine lacks, then every command, and runs none of them', async () => {
    const modelsDir = join(dir, 'models');
    const generatedDir = join(dir, 'generated');
    const { code, output } = await deploy(['--docker', '--dry-run'], {
      ZEUS_MODELS_DIR: modelsDir,
      ZEUS_GENERATED_DIR: generatedDir,
      ZEUS_PORT: '8088',
      ZEUS_MODEL: undefined,
      ZEUS_NODE_NAME: undefined,
    });
    const engine = dockerInfo();
    if (!engine.answers) {
      expect(code).toBe(1);
      expect(output).toMatch(/^Missing before Zeus can run with Docker:\n {2}- /m);
      expect(output).toMatch(
        /- (Docker is not installed|The Docker engine does not answer \(.+\): start it)/,
      );
      expect(output).toContain('Once that is done, deploy.ts runs:');
    }
    expect(output).toContain(
      `  export ZEUS_MODEL=ltxv-2b-0.9.6-distilled ZEUS_PORT=8088 ZEUS_MODELS_DIR=${modelsDir} ZEUS_GENERATED_DIR=${generatedDir} ZEUS_NODE_NAME=${hostname()}`,
    );
    const commands = output.split('\n').filter((line) => line.startsWith('  docker '));
    expect(commands).toEqual([
      '  docker compose build',
      '  docker compose up --detach --wait redis app1 app2 app3 caddy',
      // The folder is empty: the weights are missing.
      '  docker compose run --rm fetch-model',
      `  docker compose up --detach --remove-orphans  # as soon as the download holds ${join(modelsDir, 'ltxv-2b-0.9.6-distilled', '.zeus-files.lock')}`,
    ]);
    expect(output).toContain('"Deployment complete."');
    // Nothing was made.
    expect(existsSync(modelsDir)).toBe(false);
    expect(existsSync(generatedDir)).toBe(false);
    expect(existsSync(join(REPOSITORY_ROOT, OVERRIDE_FILE))).toBe(false);
  });

  it('picks local processes when no Docker engine answers, and Docker when one does', async () => {
    const { code, output } = await deploy(['--dry-run']);
    expect(code).toBe(0);
    if (dockerInfo().answers) {
      expect(output).toContain('docker compose build');
    } else {
      expect(output).toMatch(/^No Docker engine answered \(.+\), so Zeus runs as local processes/m);
      expect(output).toContain('deploy.ts would run Zeus as local processes');
    }
  });

  it('reports every invalid setting at once, before anything else', async () => {
    const { code, output } = await deploy(['--docker', '--dry-run'], {
      ZEUS_PORT: 'eighty',
      ZEUS_MODEL: 'sora',
      HF_ENDPOINT: 'ftp://mirror',
      ZEUS_MAX_QUEUED: '0',
    });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration:');
    expect(output).toMatch(/ZEUS_PORT: must be a whole number \(got "eighty"\)/);
    expect(output).toMatch(/ZEUS_MODEL: .*\(got "sora"\)/);
    expect(output).toMatch(/HF_ENDPOINT: must be an http:\/\/ or https:\/\/ URL/);
    expect(output).toMatch(/ZEUS_MAX_QUEUED: must be at least 1/);
    expect(output).not.toContain('docker compose');
  });

  it('explains itself with --help: each option, the port, where the settings are', async () => {
    const { code, output } = await deploy(['--help']);
    expect(code).toBe(0);
    expect(output.split('\n')[0]).toBe(
      'usage: npx tsx deploy.ts [--local | --docker] [--gpus N] [--dry-run]',
    );
    for (const option of ['--docker', '--local', '--gpus N', '--dry-run', '--help']) {
      expect(output).toMatch(new RegExp(`^  ${option} +\\S`, 'm'));
    }
    expect(output).toContain('8080 in local mode, 80 with Docker');
    expect(output).toContain('docs/configuration.md');
  });

  it('rejects bad command lines with the usage', async () => {
    for (const args of [
      ['--gpus', '0'],
      ['--gpus', 'two'],
      ['--local', '--gpus', '2'],
      ['--local', '--docker'],
      ['--bogus'],
    ]) {
      const { code, output } = await deploy([...args, '--dry-run']);
      expect(code, args.join(' ')).toBe(2);
      expect(output, args.join(' ')).toContain('usage: npx tsx deploy.ts');
    }
  });
});
