import type { Reference } from './reference.ts';

/** One compared quantity: our output against the reference's. */
export interface ParityResult {
  /** Component and tensor, e.g. "transformer.output". */
  readonly name: string;
  readonly maxAbsError: number;
  readonly tolerance: number;
  /** Extra facts worth printing, e.g. "3 of 313344 pixels differ by 1". */
  readonly note?: string;
  /** Overrides `maxAbsError <= tolerance` for checks with another criterion (uint8 frames). */
  readonly passed?: boolean;
}

/** The execution provider a parity run asks for (never `auto`: the run says what it tests). */
export type ParityDevice = 'cpu' | 'webgpu' | 'cuda';
export const PARITY_DEVICES: readonly ParityDevice[] = ['cpu', 'webgpu', 'cuda'];

/** Weights and activations of the converted graphs. */
export type ParityPrecision = 'fp32' | 'fp16';
export const PARITY_PRECISIONS: readonly ParityPrecision[] = ['fp32', 'fp16'];

/** Where and how a parity run computes: every component runs on `device` in `precision`. */
export interface ParityTarget {
  readonly device: ParityDevice;
  readonly precision: ParityPrecision;
}

export const CPU_FP32: ParityTarget = { device: 'cpu', precision: 'fp32' };

export interface ParityCheck {
  /** Component name used by `--only`, e.g. "transformer". */
  readonly component: string;
  run(reference: Reference, target: ParityTarget): Promise<ParityResult[]>;
}

export function passed(result: ParityResult): boolean {
  return result.passed ?? result.maxAbsError <= result.tolerance;
}

/** The graphs' dtype for a precision. */
export function graphDtype(precision: ParityPrecision): 'float32' | 'float16' {
  return precision === 'fp16' ? 'float16' : 'float32';
}
