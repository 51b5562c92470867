/**
 * `npm run parity -- <golden> --device webgpu` as CI runs it: every component on ONNX Runtime's
 * WebGPU provider (Dawn on SwiftShader's Vulkan, no GPU needed) within the fp32 tolerances the
 * CPU meets, and fp16 refused with the reason, since SwiftShader has no float16 shaders
 * (fp16 is checked on the CPU, ltx/parity.test.ts). A few minutes: SwiftShader is slow.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { swiftShaderEnv } from '../../../tests/helpers/swiftshader.ts';
import { GOLDEN_DIR } from '../ltx-golden.ts';

const MAIN = fileURLToPath(new URL('../../src/parity/main.ts', import.meta.url));

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
      { timeout: 900_000, env: { ...process.env, ...swiftShaderEnv() }, maxBuffer: 2 ** 24 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The table's rows: name, error, tolerance, verdict. */
function rows(stdout: string): { name: string; verdict: string; line: string }[] {
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => /^(\S.*?)\s{2,}(\S+)\s+(\S+)\s+(ok|FAIL)/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ name: match[1] ?? '', verdict: match[4] ?? '', line: match[0] }));
}

describe('npm run parity --device webgpu (SwiftShader)', () => {
  let fp32: Outcome;
  beforeAll(async () => {
    fp32 = await parity(GOLDEN_DIR, '--device', 'webgpu');
  }, 900_000);

  it('runs every component on webgpu in fp32 within the fp32 tolerances', () => {
    expect(fp32.stderr).toMatch(/^device webgpu, precision fp32$/m);
    expect(fp32.stderr).not.toMatch(/\n\s+at /);
    const table = rows(fp32.stdout);
    const failing = table.filter((row) => row.verdict !== 'ok').map((row) => row.line);
    expect(failing).toEqual([]);
    const names = table.map((row) => row.name);
    // T5, transformer, VAE decoder whole, streamed and tiled, previews, the whole replay.
    expect(names).toEqual(
      expect.arrayContaining([
        't5.last_hidden_state',
        'transformer.output',
        'transformer.debug.block_0_attn1_out',
        'vae_decode.output',
        'vae_decode.debug.up_block_6_out',
        'pipeline.video_uint8 (tiled)',
        'vae.streamed (8 latent frames, vs one pass)',
        'preview.latents',
        'preview.colours',
        'pipeline.step_7.noise_pred',
        'pipeline.final_latents',
      ]),
    );
    // The fp32 tolerances, not looser ones.
    expect(fp32.stdout).toMatch(/^t5\.last_hidden_state\s+\S+\s+1e-4\s+ok/m);
    expect(fp32.stdout).toMatch(/^transformer\.output\s+\S+\s+1e-4\s+ok/m);
    expect(fp32.stdout).toMatch(/^vae_decode\.output\s+\S+\s+1e-3\s+ok/m);
    expect(fp32.stdout.trim().split('\n').at(-1)).toMatch(/^PASS: \d+ tensors within tolerance$/);
    expect(fp32.code).toBe(0);
  });

  it('refuses fp16 on an adapter without float16 shaders, with the reason, exit 2', async () => {
    const fp16 = await parity(GOLDEN_DIR, '--device', 'webgpu', '--precision', 'fp16');
    expect(fp16.code).toBe(2);
    expect(fp16.stdout).toBe('');
    expect(fp16.stderr).toMatch(/^Cannot run fp16 on webgpu: .*f16/m);
  }, 120_000);
});
