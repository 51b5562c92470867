/**
 * Converts the transformer of a single-file checkpoint to ONNX, once, into the conversion cache
 * next to the weights: `<cacheRoot>/ltx-transformer-<fp32|fp16>-<key>/model.onnx`.
 */
import { join } from 'node:path';
import { convertCached, type ConversionEvent, type ConvertedModel } from '../convert/cache.ts';
import type { AttentionKernel } from '../onnx/attention.ts';
import type { LtxTransformerConfig } from './checkpoint-config.ts';
import { LtxCheckpoint } from './checkpoint.ts';
import { buildTransformerGraph } from './transformer-graph.ts';
import type { TransformerDType } from './transformer-linears.ts';

/** Bump whenever the transformer graph changes for the same checkpoint. */
export const TRANSFORMER_CONVERTER_VERSION = 3;

export interface TransformerConversionOptions {
  readonly checkpointPath: string;
  /** The conversion cache folder, e.g. `<model dir>/onnx`. */
  readonly cacheRoot: string;
  readonly dtype: TransformerDType;
  /** How attention is written; 'matmul' graphs are cached apart. Default 'fused'. */
  readonly attention?: AttentionKernel;
  readonly onProgress?: (event: ConversionEvent) => void;
}

export interface ConvertedTransformer extends ConvertedModel {
  /** The checkpoint's transformer config (the runtime wrapper needs it). */
  readonly config: LtxTransformerConfig;
}

export async function convertLtxTransformer(
  options: TransformerConversionOptions,
): Promise<ConvertedTransformer> {
  const checkpoint = await LtxCheckpoint.open(options.checkpointPath);
  try {
    checkpoint.checkTransformerTensors();
    const { config } = checkpoint;
    const attention = options.attention ?? 'fused';
    const converted = await convertCached({
      cacheRoot: options.cacheRoot,
      component: 'ltx-transformer',
      dtype: options.dtype === 'float16' ? 'fp16' : 'fp32',
      converterVersion: TRANSFORMER_CONVERTER_VERSION,
      sources: [options.checkpointPath],
      ...(attention === 'fused' ? {} : { options: { attention } }),
      build: async (dir, onProgress) => {
        const graph = buildTransformerGraph(
          config.transformer,
          (name) => checkpoint.readTransformerFloat32(name),
          { dtype: options.dtype, attention },
        );
        await graph.save(join(dir, 'model.onnx'), { onProgress });
      },
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return { ...converted, config: config.transformer };
  } finally {
    await checkpoint.close();
  }
}
