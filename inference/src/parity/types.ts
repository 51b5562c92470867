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

export interface ParityCheck {
  /** Component name used by `--only`, e.g. "transformer". */
  readonly component: string;
  run(reference: Reference): Promise<ParityResult[]>;
}

export function passed(result: ParityResult): boolean {
  return result.passed ?? result.maxAbsError <= result.tolerance;
}
