/** Picks the pipeline for `ZEUS_MODEL`. */
import { ModelUnavailableError, modelRules, type ModelName } from '@zeus/core';
import type { Device } from '../onnx/runtime.ts';
import { PlaceholderPipeline } from './placeholder.ts';
import type { VideoPipeline } from './types.ts';

export interface PipelineConfig {
  readonly model: ModelName;
  readonly device: Device;
}

export function createPipeline(config: PipelineConfig): VideoPipeline {
  switch (config.model) {
    case 'tiny-random':
      return new PlaceholderPipeline({
        device: config.device,
        steps: modelRules(config.model).steps,
      });
    case 'ltxv-2b-0.9.6-distilled':
      throw new ModelUnavailableError(
        'The model ltxv-2b-0.9.6-distilled is not available yet: its ONNX pipeline is still ' +
          'being built. Set ZEUS_MODEL=tiny-random to run Zeus with the small test model.',
      );
  }
}
