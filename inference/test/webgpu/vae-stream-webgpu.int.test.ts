/**
 * The VAE decoder streamed on WebGPU (SwiftShader): its causal state stays in device memory
 * from one call to the next (never read from JavaScript: that would abort the process), the
 * frames are the CPU's, and fewer bytes cross the Node binding than on the CPU provider.
 */
import {
  buildVaeDecoderGraphs,
  parseVaeConfig,
  randomVaeWeights,
  SeededRandom,
} from '@zeus/models';
import { TINY_STREAM_VAE_CONFIG } from '@zeus/models/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSwiftShader } from '../../../tests/helpers/swiftshader.ts';
import type { LatentVideo } from '../../src/ltx/vae-decode-io.ts';
import { VaeDecoder } from '../../src/ltx/vae-decoder.ts';
import { hostTraffic } from '../../src/onnx/runtime.ts';
import { maxAbsDiff } from '../../src/parity/compare.ts';

const decoders: Partial<Record<'cpu' | 'webgpu', VaeDecoder>> = {};
/** Latent video of the small decoder below: 8 channels, 12 frames, 3 x 2 cells. */
const SHAPE = [1, 8, 12, 3, 2];
const CHUNK = { chunkFrames: 2 };

beforeAll(async () => {
  useSwiftShader();
  // A small decoder with every kind of streamed block (time and space upsamplers, res blocks).
  const config = parseVaeConfig(TINY_STREAM_VAE_CONFIG);
  const graphs = buildVaeDecoderGraphs(config, randomVaeWeights(7), {
    dtype: 'float32',
    floatOutputs: true,
  });
  const models = {
    first: await graphs.first.toBytes(),
    next: await graphs.next.toBytes(),
    layout: graphs.layout,
    dtype: 'float32' as const,
    timestepScaleMultiplier: 1000,
  };
  decoders.cpu = await VaeDecoder.load(models, { device: 'cpu', intraOpThreads: 1 });
  decoders.webgpu = await VaeDecoder.load(models, { device: 'webgpu' });
}, 120_000);
afterAll(async () => {
  await Promise.all(Object.values(decoders).map((decoder) => decoder.release()));
});

function randomLatents(shape: readonly number[], seed: number): LatentVideo {
  const random = new SeededRandom(seed);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
    random.between(-2, 2),
  );
  return { data, shape };
}

describe('VAE decoder state on WebGPU', () => {
  it('keeps the causal state on the device, gives the CPU frames, moves fewer bytes', async () => {
    const { cpu, webgpu } = decoders as Required<typeof decoders>;
    expect(cpu.stateLocation).toBe('host');
    expect(webgpu.stateLocation).toBe('device');
    const latents = randomLatents(SHAPE, 1);
    const noise = randomLatents(SHAPE, 2);
    const options = CHUNK;
    // The state is carried from call to call several times.
    expect(webgpu.plan(12, options).length).toBeGreaterThan(2);

    const decodeOn = async (decoder: VaeDecoder) => {
      const before = hostTraffic();
      const video = await decoder.decode(latents, noise, options);
      const after = hostTraffic();
      return {
        video,
        in: after.toRuntimeBytes - before.toRuntimeBytes,
        out: after.fromRuntimeBytes - before.fromRuntimeBytes,
      };
    };
    const onCpu = await decodeOn(cpu);
    const onGpu = await decodeOn(webgpu);
    expect(onGpu.video.count).toBe(2 * 12 - 1);
    // As the one-pass decode on the CPU: the state came back intact from the device.
    const onePass = await cpu.decode(latents, noise);
    expect(maxAbsDiff(onGpu.video.decoded ?? [], onePass.decoded ?? [])).toBeLessThan(1e-5);
    expect(maxAbsDiff(onGpu.video.decoded ?? [], onCpu.video.decoded ?? [])).toBeLessThan(1e-5);
    // The same frames, pending frames and chunks cross on both; the state only on the CPU.
    expect(onGpu.out).toBeLessThan(onCpu.out);
    expect(onGpu.in).toBeLessThan(onCpu.in);
    console.log(
      `host traffic of a streamed decode (12 latent frames, 23 video frames): cpu ` +
        `${onCpu.in} B in, ${onCpu.out} B out; webgpu ${onGpu.in} B in, ${onGpu.out} B out`,
    );
  });

  it('frees the state of a decode the caller stops early, and decodes again', async () => {
    const { webgpu } = decoders as Required<typeof decoders>;
    const latents = randomLatents(SHAPE, 3);
    const noise = randomLatents(SHAPE, 4);
    for await (const batch of webgpu.decodeFrames(latents, noise, CHUNK)) {
      expect(batch.start).toBe(0);
      break;
    }
    const again = await webgpu.decode(latents, noise, CHUNK);
    expect(again.count).toBe(2 * 12 - 1);
  });
});
