import { afterAll, describe, expect, it } from 'vitest';
import { projectPreview } from '../../ltx/preview.ts';
import { gaussian, noiseDraws, SeededNoise } from '../../sampler/noise.ts';
import { SamplerHelper } from './sampler-helper.ts';

const helper = new SamplerHelper();
afterAll(async () => {
  await helper.close();
});

describe('SamplerHelper', () => {
  it("computes gaussian() on its thread to the last bit, whatever the draw's position", async () => {
    for (const [start, count] of [
      [0, 10],
      [3, 1001],
      [2 ** 33 + 1, 77],
    ] as const) {
      expect(await helper.gaussian(42, 0, start, count)).toEqual(gaussian(42, 0, start, count));
    }
  });

  it('gives SeededNoise draws ahead that equal its draws in place, interleaved in order', async () => {
    const tokens = [1, 60, 128];
    const inPlace = new SeededNoise(7);
    const ahead = new SeededNoise(7, (seed, stream, start, count) =>
      helper.gaussian(seed, stream, start, count),
    );
    const requests = [
      noiseDraws.initial(tokens),
      noiseDraws.step(0, tokens),
      noiseDraws.step(1, tokens),
      noiseDraws.decode([1, 128, 3, 4, 5]),
    ];
    const expected = requests.map((request) => inPlace.draw(request));
    // The first draw in place, the steps ahead (both asked before either is awaited), the last
    // in place again: positions are taken when asked.
    const first = ahead.draw(requests[0] ?? noiseDraws.initial(tokens));
    const steps = [
      ahead.drawAhead(requests[1] ?? noiseDraws.step(0, tokens)),
      ahead.drawAhead(requests[2] ?? noiseDraws.step(1, tokens)),
    ];
    const last = ahead.draw(requests[3] ?? noiseDraws.decode([1]));
    expect([first, ...(await Promise.all(steps)), last]).toEqual(expected);
  });

  it('projects the same preview as projectPreview() in place', async () => {
    const shape = { batch: 1, channels: 8, frames: 5, height: 3, width: 4 };
    const n = shape.frames * shape.height * shape.width * shape.channels;
    const latents = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const velocity = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
    const projection = {
      channels: 8,
      weights: Float32Array.from({ length: 24 }, (_, i) => ((i % 5) - 2) / 10),
      bias: Float32Array.from([0.5, 0.4, 0.6]),
    };
    const there = await helper.preview(projection, shape, latents, velocity, 0.6, 3);
    expect(there).toEqual(projectPreview(projection, shape, latents, velocity, 0.6, 3));
  });
});
