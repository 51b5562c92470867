/**
 * `npm run parity` as a user runs it: the command's exit code, table and messages on the golden
 * reference, on a copy with one tensor changed, on a copy a component cannot read, and on a
 * folder that does not exist. Only the scheduler check runs (about a second each).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from './ltx-golden.ts';

const MAIN = fileURLToPath(new URL('../src/parity/main.ts', import.meta.url));

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function parity(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A copy of the golden folder: `vectors.safetensors` rewritten by `edit`, the rest linked. */
async function goldenCopy(
  dir: string,
  edit: (header: Record<string, { data_offsets: [number, number] }>, data: Buffer) => void,
  leaveOut: readonly string[] = [],
): Promise<string> {
  for (const entry of await readdir(GOLDEN_DIR)) {
    if (entry === 'vectors.safetensors' || leaveOut.includes(entry)) continue;
    await symlink(join(GOLDEN_DIR, entry), join(dir, entry));
  }
  const file = await readFile(join(GOLDEN_DIR, 'vectors.safetensors'));
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const data = Buffer.from(file.subarray(8 + headerLength));
  edit(header, data);
  await writeFile(
    join(dir, 'vectors.safetensors'),
    Buffer.concat([file.subarray(0, 8 + headerLength), data]),
  );
  return dir;
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('npm run parity', () => {
  let golden: Outcome;
  beforeAll(async () => {
    golden = await parity(GOLDEN_DIR, '--only', 'scheduler');
  });

  it('passes on the golden reference: exit 0, a row per tensor, PASS', () => {
    expect(golden.stderr).not.toMatch(/\n\s+at /);
    expect(golden.code).toBe(0);
    const lines = golden.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^tensor\s+max abs error\s+tolerance\s+note$/);
    expect(golden.stdout).toMatch(
      /^scheduler\.step\.prev_sample_stochastic\s+0\.00e\+0\s+1e-6\s+ok$/m,
    );
    expect(lines.at(-1)).toMatch(/^PASS: \d+ tensors within tolerance$/);
    expect(golden.stdout).not.toMatch(/transformer\.|t5\.|vae\./);
  });

  it('fails with exit 1 and a FAIL row when a reference tensor is changed', async () => {
    const dir = await goldenCopy(await tempDir(), (header, data) => {
      const [start] = header['scheduler.step.noise']?.data_offsets ?? [NaN];
      data.writeFloatLE(data.readFloatLE(start) + 1, start);
    });
    const outcome = await parity(dir, '--only', 'scheduler');
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(
      /^scheduler\.step\.prev_sample_stochastic\s+\S+\s+1e-6\s+FAIL$/m,
    );
    expect(outcome.stdout).toMatch(
      /^scheduler\.step\.prev_sample_deterministic\s+0\.00e\+0\s.*ok$/m,
    );
    expect(outcome.stdout.trim().split('\n').at(-1)).toMatch(/^FAIL: 1 of \d+ rows/);
  });

  it('reports a component that cannot run as a FAIL row and still runs the others', async () => {
    // No checkpoint: the scheduler check cannot read its config; the T5 check does not need it.
    const dir = await goldenCopy(await tempDir(), () => undefined, ['checkpoint.safetensors']);
    const outcome = await parity(dir, '--only', 'scheduler,t5');
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(/^scheduler\s+-\s+-\s+FAIL\s+error: .*checkpoint\.safetensors/m);
    expect(outcome.stdout).toMatch(/^t5\.last_hidden_state\s+\S+\s+1e-4\s+ok$/m);
    expect(outcome.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a missing folder and an unknown component with exit 2 and one line', async () => {
    const missing = await parity(join(await tempDir(), 'absent'), '--only', 'scheduler');
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim()).toMatch(/^Cannot read the reference directory .*absent: ENOENT/);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);

    const unknown = await parity(GOLDEN_DIR, '--only', 'scheduler,warp');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown component\(s\): warp\. Known: .*scheduler/);
  });
});
