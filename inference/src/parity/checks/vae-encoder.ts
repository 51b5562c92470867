/**
 * VAE encoder parity, for reference sets that provide encoder vectors (the golden set does not;
 * the tests check the encoder against official vectors in test/fixtures/vae-encoder-reference/,
 * also through this check):
 *
 * - `vae_encode.input`   [1, 3, F, H, W] pixels in [−1, 1] (required);
 * - `vae_encode.latents` [1, C, f, h, w] what `vae_encode(input, vae, vae_per_channel_normalize=
 *   True)` returned;
 * - `vae_encode.noise`   the posterior draw of its `latent_dist.sample()`, same shape; absent:
 *   the latents are compared with the normalised posterior mean (a reference made with the
 *   distribution's mode);
 * - optional `vae_encode.mean`, `vae_encode.logvar` (the posterior's moments) and
 *   `vae_encode.debug.<name>` for the graph's debug outputs (`patchify_out`, `conv_in_out`,
 *   `down_block_<i>_out`, `conv_out_out`).
 *
 * Converted in the run's precision from the reference's checkpoint, on its device. Tolerance:
 * the manifest's `vae_encode.*`, else 1e-3 like the decoder's (fp32; fp16: tolerances.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVaeEncoderOnnx } from '@zeus/models';
import { VaeEncoder } from '../../ltx/vae-encoder.ts';
import { maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { tolerance as toleranceFor } from '../tolerances.ts';
import { graphDtype, type ParityCheck, type ParityResult, type ParityTarget } from '../types.ts';

export const vaeEncoderCheck: ParityCheck = {
  component: 'vae-encoder',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    if (!reference.has('vae_encode.input') || !reference.has('vae_encode.latents')) return [];
    const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-vae-encoder-'));
    try {
      await buildVaeEncoderOnnx(reference.checkpointPath, dir, {
        dtype: graphDtype(target.precision),
        debugOutputs: true,
      });
      const encoder = await VaeEncoder.load(dir, { device: target.device });
      try {
        const input = {
          data: await reference.float32('vae_encode.input'),
          shape: reference.shape('vae_encode.input'),
        };
        const noise = reference.has('vae_encode.noise')
          ? await reference.float32('vae_encode.noise')
          : undefined;
        const encoded = await encoder.encode(input, noise);
        const results: ParityResult[] = [];
        const compare = async (name: string, ours: Float32Array | undefined): Promise<void> => {
          if (!reference.has(name)) return;
          const expected = await reference.float32(name);
          const tolerance = toleranceFor(reference, target, 'vae_encode.*', expected);
          results.push(
            ours === undefined || ours.length !== expected.length
              ? { name, maxAbsError: Infinity, tolerance, note: 'not produced, or another shape' }
              : { name, maxAbsError: maxAbsDiff(ours, expected), tolerance },
          );
        };
        await compare('vae_encode.latents', encoded.latents);
        const note =
          noise === undefined ? 'posterior mean (no vae_encode.noise)' : 'with vae_encode.noise';
        const latents = results[0];
        if (latents !== undefined) results[0] = { ...latents, note };
        await compare('vae_encode.mean', encoded.mean);
        await compare('vae_encode.logvar', expandLogvar(encoded, reference));
        for (const { name } of reference.manifest.tensors) {
          if (name.startsWith('vae_encode.debug.')) {
            await compare(name, encoded.outputs[`debug.${name.slice('vae_encode.debug.'.length)}`]);
          }
        }
        return results;
      } finally {
        await encoder.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** The one-channel ("uniform") log-variance repeated to the reference's channel count. */
function expandLogvar(
  encoded: { logvar: Float32Array; shape: readonly number[] },
  reference: Reference,
): Float32Array {
  if (!reference.has('vae_encode.logvar')) return encoded.logvar;
  const [, channels = 1] = reference.shape('vae_encode.logvar');
  const plane = encoded.shape.slice(2).reduce((a, b) => a * b, 1);
  if (encoded.logvar.length === channels * plane) return encoded.logvar;
  const out = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) out.set(encoded.logvar.subarray(0, plane), c * plane);
  return out;
}
