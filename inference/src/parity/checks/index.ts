import type { ParityCheck } from '../types.ts';

/** Every component `npm run parity` compares, in pipeline order. */
export const CHECKS: readonly ParityCheck[] = [];
