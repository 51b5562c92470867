/**
 * A reference directory in the golden layout (checkpoint, vectors.safetensors, manifest.json),
 * made by a test from its own float32 tensors, for `Reference.open` and the parity checks.
 */
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensorFromTyped, writeSafetensors } from '@zeus/models';
import { Reference } from '../../src/parity/reference.ts';

export type ReferenceTensor = readonly [name: string, shape: readonly number[], data: Float32Array];

export async function writeReferenceSet(
  dir: string,
  options: {
    /** Linked in as checkpoint.safetensors. */
    readonly checkpoint: string;
    readonly tensors: readonly ReferenceTensor[];
    /** tolerances_max_abs_fp32, by tensor pattern. */
    readonly tolerances: Readonly<Record<string, number>>;
  },
): Promise<Reference> {
  await symlink(options.checkpoint, join(dir, 'checkpoint.safetensors'));
  const tensors = options.tensors.map(
    ([name, shape, data]) => [name, tensorFromTyped('float32', shape, data)] as const,
  );
  await writeSafetensors(join(dir, 'vectors.safetensors'), tensors, {});
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify({
      run: {},
      configs: {},
      tolerances_max_abs_fp32: options.tolerances,
      tensors: tensors.map(([name, tensor]) => ({ name, shape: tensor.shape, dtype: 'float32' })),
    }),
  );
  return Reference.open(dir);
}
