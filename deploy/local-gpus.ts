/**
 * Local mode on a machine with several NVIDIA GPUs: one worker per GPU unless ZEUS_WORKERS says
 * otherwise, each worker process pinned to its own GPU with CUDA_VISIBLE_DEVICES (CUDA, and so
 * ONNX Runtime's device 0, is then that GPU). Without this every worker would run on GPU 0.
 * With one GPU or none nothing changes: the workers see what this process's environment shows.
 */
import { countNvidiaGpus } from './cuda-provider.ts';

export interface LocalGpuFacts {
  /** GPUs `nvidia-smi -L` lists; null when nvidia-smi is missing or fails. */
  readonly gpus: number | null;
  /** `ZEUS_DEVICE` as set (unset: auto). */
  readonly device: string | undefined;
  /** `CUDA_VISIBLE_DEVICES` as set: the GPUs the operator lets processes here use. */
  readonly visibleDevices: string | undefined;
}

/** Whether workers with this `ZEUS_DEVICE` may run on CUDA (auto picks it where it works). */
function usesCuda(device: string | undefined): boolean {
  const name = device?.trim().toLowerCase() || 'auto';
  return name === 'auto' || name === 'cuda';
}

/**
 * The GPUs the workers are spread over, as CUDA_VISIBLE_DEVICES entries: those the operator's
 * CUDA_VISIBLE_DEVICES lists when set (indices or GPU UUIDs), else every GPU nvidia-smi lists;
 * none when the workers do not use CUDA.
 */
export function workerGpus(facts: LocalGpuFacts): string[] {
  if (!usesCuda(facts.device)) return [];
  if (facts.visibleDevices !== undefined) {
    return facts.visibleDevices
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  }
  return Array.from({ length: facts.gpus ?? 0 }, (_, gpu) => String(gpu));
}

/** ZEUS_WORKERS when set; else one worker per GPU, and one on a machine without any. */
export function localWorkerCount(setting: number | undefined, gpus: readonly string[]): number {
  return setting ?? Math.max(1, gpus.length);
}

/**
 * What worker `index` (0-based) adds to its environment: with two or more GPUs, its own
 * (round robin when there are more workers than GPUs); with one or none, nothing.
 */
export function workerGpuEnv(index: number, gpus: readonly string[]): Record<string, string> {
  const gpu = gpus[index % gpus.length];
  return gpus.length > 1 && gpu !== undefined ? { CUDA_VISIBLE_DEVICES: gpu } : {};
}

/** workerGpus on this machine; nvidia-smi is asked only when the workers may use CUDA. */
export function detectWorkerGpus(env: Readonly<Record<string, string | undefined>>): string[] {
  const device = env['ZEUS_DEVICE'];
  return workerGpus({
    gpus: usesCuda(device) ? countNvidiaGpus() : null,
    device,
    visibleDevices: env['CUDA_VISIBLE_DEVICES'],
  });
}
