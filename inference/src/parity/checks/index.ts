import type { ParityCheck } from '../types.ts';
import { t5Check } from './t5.ts';
import { schedulerCheck } from './scheduler.ts';
import { transformerCheck } from './transformer.ts';
import { vaeCheck } from './vae.ts';
import { vaeEncoderCheck } from './vae-encoder.ts';
import { pipelineCheck } from './pipeline.ts';
import { previewCheck } from './preview.ts';

/** Every component `npm run parity` compares, in pipeline order. */
export const CHECKS: readonly ParityCheck[] = [
  t5Check,
  schedulerCheck,
  transformerCheck,
  vaeCheck,
  vaeEncoderCheck,
  previewCheck,
  pipelineCheck,
];
