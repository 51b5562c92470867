import { describe, expect, it } from 'vitest';
import { LTX_096_VAE_CONFIG } from '../src/ltx/ltx-096-vae-config.ts';
import { parseVaeConfig } from '../src/ltx/vae-config.ts';
import {
  planStream,
  tailInputFrames,
  tailOutputFrames,
  vaeStreamLayout,
  videoFrames,
  VaeStreamError,
} from '../src/ltx/vae-stream.ts';

const config = parseVaeConfig(LTX_096_VAE_CONFIG);
const layout = vaeStreamLayout(config);

describe('VAE stream bookkeeping', () => {
  it('decodes F latent frames into 8(F − 1) + 1 video frames (F → 2F − 1 three times)', () => {
    expect(config.temporalScaleFactor).toBe(8);
    for (let latentFrames = 1; latentFrames <= 20; latentFrames++) {
      expect(videoFrames(layout, latentFrames)).toBe(8 * (latentFrames - 1) + 1);
      expect(tailInputFrames(layout, latentFrames)).toBe(2 * latentFrames - 1);
    }
  });

  it('streams the last two upsamplers and the full-resolution stages', () => {
    // Tail: up_blocks.3 (upsampler), .4 (5 res blocks), .5, .6, then conv_out.
    expect(layout.headTimeStrides).toEqual([2]);
    expect(layout.tailOps.filter((op) => op.kind === 'upsample')).toHaveLength(2);
    expect(layout.tailOps.filter((op) => op.kind === 'conv')).toHaveLength(2 * 10 + 1);
  });

  it('plans calls that cover every frame exactly once, for any video and chunk size', () => {
    for (let latentFrames = 1; latentFrames <= 20; latentFrames++) {
      for (const chunkFrames of [undefined, 1, 2, 5, 8, 16, 33, 200]) {
        const calls = planStream(layout, latentFrames, chunkFrames);
        const label = `F=${latentFrames} chunk=${String(chunkFrames)}`;
        expect(
          calls.reduce((sum, call) => sum + call.outputFrames, 0),
          label,
        ).toBe(videoFrames(layout, latentFrames));
        expect(
          calls.reduce((sum, call) => sum + call.tailFrames, 0),
          label,
        ).toBe(tailInputFrames(layout, latentFrames));
        expect(
          calls.map((call) => call.last),
          label,
        ).toEqual(calls.map((_, index) => index === calls.length - 1));
        calls.forEach((call, index) => {
          const kind = index === 0 ? 'first' : 'next';
          expect(tailOutputFrames(layout, call.tailFrames, kind, call.last), label).toBe(
            call.outputFrames,
          );
          expect(call.outputFrames, label).toBeGreaterThan(0);
        });
        if (calls.length > 1 && chunkFrames !== undefined) {
          expect(calls[0]?.outputFrames, label).toBeGreaterThanOrEqual(chunkFrames);
        }
      }
    }
  });

  it('splits the default 121-frame video and decodes short videos in one call', () => {
    const calls = planStream(layout, 16, 16);
    expect(calls.length).toBeGreaterThan(3);
    expect(calls.slice(1, -1).every((call) => call.outputFrames === 16)).toBe(true);
    // Five latent frames give nine head frames: fewer than a first call needs.
    expect(planStream(layout, 5, 1)).toHaveLength(1);
  });

  it('refuses first calls too short for the convolutions, and bad arguments', () => {
    const minimum = [...Array(40).keys()].find(
      (frames) => tailOutputFrames(layout, frames, 'first', false) !== undefined,
    );
    expect(minimum).toBeGreaterThan(1);
    expect(tailOutputFrames(layout, (minimum ?? 0) - 1, 'first', false)).toBeUndefined();
    expect(tailOutputFrames(layout, 0, 'next', true)).toBeUndefined();
    expect(() => planStream(layout, 0)).toThrow(VaeStreamError);
    expect(() => planStream(layout, 4, 0)).toThrow(/chunkFrames/);
  });
});
