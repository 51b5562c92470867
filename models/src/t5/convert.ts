/**
 * Converts a Hugging Face T5 text-encoder folder into an ONNX model with external weights,
 * streaming one tensor at a time, directly or through the conversion cache.
 */
import { join } from 'node:path';
import { convertCached, type ConversionEvent, type ConvertedModel } from '../convert/cache.ts';
import { fp16UnsafeTensors, T5Fp16RangeError, type T5WeightDType } from './t5-fp16.ts';
import { buildT5Graph } from './t5-graph.ts';
import type { AttentionKernel } from '../onnx/attention.ts';
import { T5Weights } from './weights.ts';

/** Bump whenever buildT5Graph writes a different model for the same weights. */
export const T5_CONVERTER_VERSION = 1;

export interface BuildT5Options {
  /** Precision of the big weight matrices. Default 'float32'. */
  readonly dtype?: T5WeightDType;
  /** Also output the hidden states entering each block (parity checks). */
  readonly debugOutputs?: boolean;
  /** How attention is written (onnx/attention.ts); default 'fused'. */
  readonly attention?: AttentionKernel;
  /** Bytes of weights written so far, and in all (from 0 again if the save restarts). */
  readonly onProgress?: (bytesWritten: number, bytesTotal: number) => void;
  /** Told, in words, which weights an fp16 conversion kept in float32, and why. */
  readonly onNotice?: (message: string) => void;
}

/**
 * Writes `outPath` (+ `outPath.data`) from the folder's config.json and safetensors weights.
 * An fp16 conversion that meets weights fp16 cannot carry safely (T5Fp16RangeError) finds them
 * all, says so through `onNotice`, and writes the model again with those kept in float32: the
 * encoder then loads with a little more memory instead of not at all.
 */
export async function buildT5Onnx(
  textEncoderDir: string,
  outPath: string,
  options: BuildT5Options = {},
): Promise<void> {
  const weights = await T5Weights.open(textEncoderDir);
  const save = async (float32Tensors?: ReadonlySet<string>): Promise<void> => {
    const graph = buildT5Graph(weights, {
      dtype: options.dtype ?? 'float32',
      ...(options.debugOutputs === undefined ? {} : { debugOutputs: options.debugOutputs }),
      ...(options.attention === undefined ? {} : { attention: options.attention }),
      ...(float32Tensors === undefined ? {} : { float32Tensors }),
    });
    await graph.save(
      outPath,
      options.onProgress === undefined ? {} : { onProgress: options.onProgress },
    );
  };
  try {
    try {
      await save();
    } catch (error) {
      if (!(error instanceof T5Fp16RangeError)) throw error;
      const unsafe = await fp16UnsafeTensors(weights);
      // The scan and the save test the same bounds; an empty list would loop on the same error.
      if (unsafe.length === 0) throw error;
      options.onNotice?.(
        `${error.message}. Keeping ${unsafe.length} weight tensor(s) of the text encoder in ` +
          `float32, the rest in float16: ${unsafe.join(', ')}`,
      );
      await save(new Set(unsafe));
    }
  } finally {
    await weights.close();
  }
}

export interface ConvertT5Options {
  readonly textEncoderDir: string;
  /** Folder of converted models, e.g. `<models dir>/onnx`. */
  readonly cacheRoot: string;
  readonly dtype?: T5WeightDType;
  readonly debugOutputs?: boolean;
  /** How attention is written; 'matmul' graphs are cached apart. Default 'fused'. */
  readonly attention?: AttentionKernel;
  readonly onProgress?: (event: ConversionEvent) => void;
}

/** The converted encoder from the cache, converting it first when absent. */
export async function convertT5Cached(options: ConvertT5Options): Promise<ConvertedModel> {
  const dtype = options.dtype ?? 'float32';
  const debugOutputs = options.debugOutputs ?? false;
  const attention = options.attention ?? 'fused';
  const weights = await T5Weights.open(options.textEncoderDir);
  const sources = weights.sourceFiles;
  await weights.close();
  return convertCached({
    cacheRoot: options.cacheRoot,
    component: debugOutputs ? 't5-encoder-debug' : 't5-encoder',
    dtype: dtype === 'float16' ? 'fp16' : 'fp32',
    converterVersion: T5_CONVERTER_VERSION,
    sources,
    ...(attention === 'fused' ? {} : { options: { attention } }),
    build: (dir, onProgress) =>
      buildT5Onnx(options.textEncoderDir, join(dir, 'model.onnx'), {
        dtype,
        debugOutputs,
        attention,
        onProgress,
        ...(options.onProgress === undefined
          ? {}
          : {
              onNotice: (message: string) => options.onProgress?.({ kind: 'notice', message }),
            }),
      }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
}
