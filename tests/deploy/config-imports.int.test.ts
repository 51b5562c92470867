/**
 * Checking the configuration (deploy.ts's, the worker's) never loads ONNX Runtime: the device and
 * precision choices live in inference/src/runtime-options.ts, apart from the module that owns
 * onnxruntime-node. Each case imports its module in a fresh Node.js process (as `npm start`
 * does, through tsx) and lists the onnxruntime-node files that process loaded; the module that
 * does run the model is the control, so the check is seen to find the package when it is loaded.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

/** The onnxruntime-node files a fresh process has loaded after importing `module`. */
function onnxRuntimeFilesLoadedBy(module: string): string[] {
  const script = [
    `import(${JSON.stringify(module)}).then(() => {`,
    `  const loaded = Object.keys(require.cache).filter((file) => file.includes('/onnxruntime-node/'));`,
    `  process.stdout.write(JSON.stringify(loaded));`,
    `});`,
  ].join('\n');
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as string[];
}

describe('checking the configuration', () => {
  it("loads no onnxruntime-node file for deploy.ts's configuration", () => {
    expect(onnxRuntimeFilesLoadedBy('./deploy/config.ts')).toEqual([]);
  });

  it("loads no onnxruntime-node file for the worker's configuration or the Docker deploy's", () => {
    expect(onnxRuntimeFilesLoadedBy('@zeus/inference/worker-config')).toEqual([]);
    expect(onnxRuntimeFilesLoadedBy('./deploy/docker-config.ts')).toEqual([]);
  });

  it('sees onnxruntime-node loaded by the module that runs the model (the control)', () => {
    expect(onnxRuntimeFilesLoadedBy('./inference/src/onnx/runtime.ts')).not.toEqual([]);
  });
});
