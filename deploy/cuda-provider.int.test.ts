import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeCudaInstallFailure,
  ensureCudaProvider,
  planCudaProvider,
  type CudaProviderFacts,
} from './cuda-provider.ts';

const GPU_MACHINE: CudaProviderFacts = {
  platform: 'linux',
  arch: 'x64',
  gpus: 1,
  installed: false,
  device: undefined,
  workers: undefined,
};

describe('planCudaProvider', () => {
  it('installs it on a Linux x64 machine whose NVIDIA GPU answers, once', () => {
    expect(planCudaProvider(GPU_MACHINE)).toEqual({ action: 'install', required: false });
    expect(planCudaProvider({ ...GPU_MACHINE, device: 'auto', gpus: 4 })).toEqual({
      action: 'install',
      required: false,
    });
    expect(planCudaProvider({ ...GPU_MACHINE, installed: true })).toEqual({ action: 'ready' });
  });

  it('requires it when ZEUS_DEVICE=cuda: there is no CPU to fall back to then', () => {
    expect(planCudaProvider({ ...GPU_MACHINE, device: 'CUDA' })).toEqual({
      action: 'install',
      required: true,
    });
  });

  it('skips it without a GPU, on other platforms, for CPU or WebGPU workers, or none', () => {
    const reasons = [
      { gpus: null },
      { gpus: 0 },
      { platform: 'darwin', arch: 'arm64' },
      { arch: 'arm64' },
      { device: 'cpu' },
      { device: 'webgpu' },
      { workers: '0' },
    ].map((facts) => planCudaProvider({ ...GPU_MACHINE, ...facts }));
    expect(reasons.map((plan) => plan.action)).toEqual(Array(7).fill('skip'));
    expect(reasons.map((plan) => (plan.action === 'skip' ? plan.reason : ''))).toEqual([
      'no NVIDIA GPU answers nvidia-smi',
      'no NVIDIA GPU answers nvidia-smi',
      'onnxruntime-node has a CUDA provider for Linux x64 only (this is darwin arm64)',
      'onnxruntime-node has a CUDA provider for Linux x64 only (this is linux arm64)',
      'ZEUS_DEVICE=cpu: the workers do not use CUDA',
      'ZEUS_DEVICE=webgpu: the workers do not use CUDA',
      'ZEUS_WORKERS=0: no workers run here',
    ]);
  });
});

/** What the install script prints when its download host does not resolve. */
const UNREACHABLE_OUTPUT = `node:internal/process/promises:391
    triggerUncaughtException(err, true /* fromPromise */);
    ^

Error: getaddrinfo ENOTFOUND feed.example
    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26) {
  errno: -3008,
  code: 'ENOTFOUND',
  syscall: 'getaddrinfo',
  hostname: 'feed.example'
}
`;

describe('describeCudaInstallFailure', () => {
  it('names the unreachable host, says the CPU runs the model, and how to install it later', () => {
    const message = describeCudaInstallFailure(UNREACHABLE_OUTPUT, false);
    expect(message).toMatch(
      /^Could not download ONNX Runtime's CUDA provider: feed\.example cannot be reached \(ENOTFOUND\)\. The workers run the model on the CPU/,
    );
    expect(message).toContain('ONNXRUNTIME_NODE_INSTALL=true node script/install.js');
  });

  it('with ZEUS_DEVICE=cuda, says that setting needs it', () => {
    expect(describeCudaInstallFailure(UNREACHABLE_OUTPUT, true)).toMatch(
      /ZEUS_DEVICE=cuda needs it; set ZEUS_DEVICE=auto/,
    );
  });

  it('quotes the last words of any other failure', () => {
    expect(
      describeCudaInstallFailure(
        'Error: Failed to find PackageBaseAddress in Nuget index\n',
        false,
      ),
    ).toMatch(/its install script failed: Error: Failed to find PackageBaseAddress/);
  });
});

describe('ensureCudaProvider', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zeus-cuda-provider-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A stand-in for onnxruntime-node's install script (the real one downloads 300 MB). */
  async function layout(name: string, script: string) {
    const root = join(dir, name);
    await mkdir(join(root, 'script'), { recursive: true });
    await writeFile(join(root, 'script', 'install.js'), script);
    return {
      dir: root,
      installScript: join(root, 'script', 'install.js'),
      library: join(root, 'libonnxruntime_providers_cuda.so'),
    };
  }

  it("runs the install script forced (ONNXRUNTIME_NODE_INSTALL=true) without npm's variables, and says the GPU is used", async () => {
    const fake = await layout(
      'succeeds',
      `console.log('Downloading https://feed.example/package.nupkg');
       require('fs').writeFileSync(${JSON.stringify(join(dir, 'succeeds', 'libonnxruntime_providers_cuda.so'))}, process.env.ONNXRUNTIME_NODE_INSTALL + ' ' + (process.env.npm_config_local_prefix ?? 'no npm'));`,
    );
    const lines: string[] = [];
    const outcome = await ensureCudaProvider(
      {},
      {
        facts: { gpus: 1, platform: 'linux', arch: 'x64' },
        layout: fake,
        log: (line) => lines.push(line),
      },
    );
    expect(outcome).toMatchObject({ ok: true, plan: { action: 'install' } });
    expect(outcome.message).toMatch(/Installed ONNX Runtime's CUDA provider/);
    expect(await readFile(fake.library, 'utf8')).toBe('true no npm');
    expect(lines).toEqual([
      expect.stringMatching(/^An NVIDIA GPU is here: installing ONNX Runtime's CUDA provider/),
      '  Downloading https://feed.example/package.nupkg',
    ]);

    // Once: the next deploy finds it and runs nothing.
    const again = await ensureCudaProvider(
      {},
      { facts: { gpus: 1, platform: 'linux', arch: 'x64' }, layout: fake, log: () => undefined },
    );
    expect(again).toEqual({ plan: { action: 'ready' }, ok: true, message: null, level: 'info' });
  });

  it('falls back to the CPU with a warning when the download host is unreachable', async () => {
    const fake = await layout(
      'unreachable',
      `process.stderr.write(${JSON.stringify(UNREACHABLE_OUTPUT)}); process.exit(1);`,
    );
    const facts = { gpus: 2, platform: 'linux', arch: 'x64' };
    const auto = await ensureCudaProvider({}, { facts, layout: fake, log: () => undefined });
    expect(auto).toMatchObject({ ok: true, level: 'warning' });
    expect(auto.message).toMatch(/feed\.example cannot be reached .* on the CPU/);
    const cuda = await ensureCudaProvider(
      { ZEUS_DEVICE: 'cuda' },
      { facts, layout: fake, log: () => undefined },
    );
    expect(cuda).toMatchObject({ ok: false, level: 'error' });
    expect(cuda.message).toMatch(/ZEUS_DEVICE=cuda needs it/);
  });

  it('gives up on a download that takes too long', async () => {
    const fake = await layout('hangs', 'setInterval(() => {}, 1000);');
    const outcome = await ensureCudaProvider(
      {},
      {
        facts: { gpus: 1, platform: 'linux', arch: 'x64' },
        layout: fake,
        log: () => undefined,
        timeoutMs: 300,
      },
    );
    expect(outcome.message).toMatch(/the download host cannot be reached \(ETIMEDOUT\)/);
  });

  it('does nothing without a GPU', async () => {
    const fake = await layout('no-gpu', 'process.exit(3);');
    const outcome = await ensureCudaProvider({}, { facts: { gpus: null }, layout: fake });
    expect(outcome).toEqual({
      plan: { action: 'skip', reason: 'no NVIDIA GPU answers nvidia-smi' },
      ok: true,
      message: null,
      level: 'info',
    });
  });
});
