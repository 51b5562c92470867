import { describe, expect, it } from 'vitest';
import {
  decideTextEncoderPlacement,
  estimateActivationBytes,
  type PlacementFacts,
} from '../../src/ltx/text-encoder-placement.ts';
import { parseNvidiaSmiMemory } from '../../src/system/gpu-memory.ts';

const GB = 1e9;
const GIB = 2 ** 30;

/**
 * The real model in fp16 (issue 4; docs/model/pipeline.md §1.6 derives the first two): T5-XXL
 * 9.5 GB, transformer 3.9, VAE 2.5.
 */
function realModel(
  gpu: { freeGiB: number; totalGiB: number } | undefined,
  hostFreeGiB = 60,
): PlacementFacts {
  return {
    provider: 'cuda',
    gpuMemory:
      gpu === undefined
        ? undefined
        : { freeBytes: gpu.freeGiB * GIB, totalBytes: gpu.totalGiB * GIB },
    hostFreeBytes: hostFreeGiB * GIB,
    textEncoderBytes: 9.5 * GB,
    transformerBytes: 3.9 * GB,
    vaeBytes: 2.5 * GB,
    // 768x512x121: 6,144 tokens of width 2,048; 128-channel decoder, 8-frame chunks; fp16.
    activationBytes: estimateActivationBytes({
      latentTokens: 6144,
      width: 2048,
      pixelsPerFrame: 768 * 512,
      vaeBaseChannels: 128,
      chunkFrames: 8,
      bytesPerValue: 2,
    }),
  };
}

describe('decideTextEncoderPlacement', () => {
  it('takes an explicit setting as it is', () => {
    for (const setting of ['gpu', 'cpu', 'on-demand'] as const) {
      expect(decideTextEncoderPlacement(setting, realModel({ freeGiB: 10, totalGiB: 24 }))).toEqual(
        {
          placement: setting,
          reason: `ZEUS_TEXT_ENCODER=${setting}`,
        },
      );
    }
  });

  it('keeps everything loaded on 40 GB and larger GPUs', () => {
    for (const totalGiB of [40, 48, 80, 141]) {
      const decision = decideTextEncoderPlacement(
        'auto',
        realModel({ freeGiB: totalGiB - 0.5, totalGiB }),
      );
      expect(decision.placement, `${totalGiB} GiB`).toBe('gpu');
    }
  });

  it('moves T5 off a 24 GB GPU: to the CPU with host memory to spare, else on demand', () => {
    const card = { freeGiB: 23.5, totalGiB: 24 };
    expect(decideTextEncoderPlacement('auto', realModel(card)).placement).toBe('cpu');
    const short = decideTextEncoderPlacement('auto', realModel(card, 12));
    expect(short.placement).toBe('on-demand');
    expect(short.reason).toMatch(/23\.5 GiB of 24\.0 GiB free on the GPU.*host memory is short/);
  });

  it('counts what other programs already hold on the GPU', () => {
    expect(
      decideTextEncoderPlacement('auto', realModel({ freeGiB: 30, totalGiB: 80 })).placement,
    ).toBe('cpu');
  });

  it('keeps T5 with the others on the CPU provider, and on a GPU whose memory is unknown', () => {
    expect(
      decideTextEncoderPlacement('auto', { ...realModel(undefined), provider: 'cpu' }).placement,
    ).toBe('cpu');
    const unknown = decideTextEncoderPlacement('auto', realModel(undefined));
    expect(unknown.placement).toBe('gpu');
    expect(unknown.reason).toMatch(/unknown/);
  });
});

describe('parseNvidiaSmiMemory', () => {
  it('reads free and total MiB of the chosen GPU', () => {
    const output = '23000, 24564\n80000, 81559\n';
    expect(parseNvidiaSmiMemory(output)).toEqual({
      freeBytes: 23000 * 2 ** 20,
      totalBytes: 24564 * 2 ** 20,
    });
    expect(parseNvidiaSmiMemory(output, 1)?.totalBytes).toBe(81559 * 2 ** 20);
  });

  it('gives undefined for anything else', () => {
    expect(parseNvidiaSmiMemory('')).toBeUndefined();
    expect(parseNvidiaSmiMemory('[N/A], [N/A]')).toBeUndefined();
    expect(parseNvidiaSmiMemory('23000, 24564', 1)).toBeUndefined();
  });
});
