/**
 * The one module that asks nvidia-smi something: the GPU's free and total memory, for the
 * text encoder's placement. Absent nvidia-smi (no NVIDIA driver) simply means "unknown".
 */
import { execFile } from 'node:child_process';
import type { GpuMemory } from '../ltx/text-encoder-placement.ts';

const MIB = 2 ** 20;

/**
 * Parses `nvidia-smi --query-gpu=memory.free,memory.total --format=csv,noheader,nounits`
 * (one "free, total" line in MiB per GPU). `index` picks the GPU (default the first, which is
 * the one CUDA's device 0 is when CUDA_VISIBLE_DEVICES is unset).
 */
export function parseNvidiaSmiMemory(output: string, index = 0): GpuMemory | undefined {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const match = /^(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)$/.exec(lines[index] ?? '');
  if (match === null) return undefined;
  return { freeBytes: Number(match[1]) * MIB, totalBytes: Number(match[2]) * MIB };
}

/** The first visible GPU's memory, or undefined when nvidia-smi is missing or fails. */
export function queryGpuMemory(timeoutMs = 10_000): Promise<GpuMemory | undefined> {
  // CUDA numbers the devices CUDA_VISIBLE_DEVICES lists; nvidia-smi takes the same ids.
  const visible = process.env['CUDA_VISIBLE_DEVICES']?.split(',')[0]?.trim();
  const args = [
    '--query-gpu=memory.free,memory.total',
    '--format=csv,noheader,nounits',
    ...(visible === undefined || visible === '' ? [] : [`--id=${visible}`]),
  ];
  return new Promise((resolve) => {
    execFile('nvidia-smi', args, { timeout: timeoutMs }, (error, stdout) => {
      resolve(error === null ? parseNvidiaSmiMemory(stdout) : undefined);
    });
  });
}
