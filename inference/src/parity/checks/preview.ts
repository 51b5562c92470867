/**
 * Live-preview parity. The official pipeline has no previews, so the reference here is Zeus on
 * the CPU in fp32: the samples the preview projection is fitted on (preview-fit.ts: synthetic
 * videos encoded by the VAE encoder, then decoded, each latent cell paired with the mean colour
 * it decodes to) are made on the run's device in its precision and compared with the CPU's:
 * - `preview.latents`: the encoder's latents of every video (the `vae_encode.*` tolerance);
 * - `preview.colours`: the cells' mean decoded colours in [0, 1], within one 8-bit level in
 *   fp32, two in fp16 (the frames' own bounds, tolerances.ts);
 * Two 64×64 videos of 9 frames keep it quick on slow devices (the real fit uses 16 of
 * PREVIEW_FIT_SETTINGS' size). The fit itself is a float64 least-squares solve in JavaScript,
 * the same on every device given the same samples; it is not compared here, because with the
 * few samples a quick check can afford its conditioning, not the device, would decide how far
 * the two projections drift (fp16 samples moved a 144-sample fit's pixels by 4 levels).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVaeDecoderOnnx, buildVaeEncoderOnnx } from '@zeus/models';
import { collectPreviewSamples, type PreviewSamples } from '../../ltx/preview-fit.ts';
import { VaeDecoder } from '../../ltx/vae-decoder.ts';
import { VaeEncoder } from '../../ltx/vae-encoder.ts';
import { maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { frameCriterion, tolerance } from '../tolerances.ts';
import {
  CPU_FP32,
  graphDtype,
  type ParityCheck,
  type ParityResult,
  type ParityTarget,
} from '../types.ts';

const VIDEOS = { count: 2, size: 64, frames: 9 } as const;

export const previewCheck: ParityCheck = {
  component: 'preview',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    const ours = await samplesOn(reference, target);
    const cpu =
      target.device === 'cpu' && target.precision === 'fp32'
        ? ours
        : await samplesOn(reference, CPU_FP32);
    const note = 'against Zeus on the CPU in fp32 (the official pipeline has no previews)';
    const levels = frameCriterion(target).maxLevels / 255;
    const results: ParityResult[] = [
      {
        name: 'preview.latents',
        maxAbsError: maxAbsDiff(ours.inputs, cpu.inputs),
        tolerance: tolerance(reference, target, 'vae_encode.*', cpu.inputs),
        note,
      },
      {
        name: 'preview.colours',
        maxAbsError: maxAbsDiff(ours.targets, cpu.targets),
        tolerance: levels,
        note: `${ours.count} latent cells; ${note}`,
      },
    ];
    return results;
  },
};

async function samplesOn(reference: Reference, target: ParityTarget): Promise<PreviewSamples> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-preview-'));
  try {
    const dtype = graphDtype(target.precision);
    await mkdir(join(dir, 'encoder'));
    await mkdir(join(dir, 'decoder'));
    await buildVaeEncoderOnnx(reference.checkpointPath, join(dir, 'encoder'), { dtype });
    await buildVaeDecoderOnnx(reference.checkpointPath, join(dir, 'decoder'), { dtype });
    const encoder = await VaeEncoder.load(join(dir, 'encoder'), { device: target.device });
    try {
      const decoder = await VaeDecoder.load(join(dir, 'decoder'), { device: target.device });
      try {
        return await collectPreviewSamples(encoder, decoder, VIDEOS);
      } finally {
        await decoder.release();
      }
    } finally {
      await encoder.release();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
