import { ConfigError } from '@zeus/core';
import { describe, expect, it } from 'vitest';
import { chooseVideoEncoder, selectVideoEncoder, type NvencProbeResult } from './encoder-choice.ts';

const works: NvencProbeResult = { works: true };
const fails: NvencProbeResult = { works: false, reason: 'Cannot load libcuda.so.1' };

describe('chooseVideoEncoder', () => {
  it('auto: NVENC when it encodes here, libx264 otherwise, saying why', () => {
    expect(chooseVideoEncoder('auto', works)).toEqual({
      encoder: 'nvenc',
      reason: 'h264_nvenc encodes here',
    });
    expect(chooseVideoEncoder('auto', fails)).toEqual({
      encoder: 'libx264',
      reason: 'h264_nvenc cannot encode here: Cannot load libcuda.so.1',
    });
  });

  it('nvenc: NVENC when it encodes, a configuration error with ffmpeg’s words when not', () => {
    expect(chooseVideoEncoder('nvenc', works).encoder).toBe('nvenc');
    let error: unknown;
    try {
      chooseVideoEncoder('nvenc', fails);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "ZEUS_VIDEO_ENCODER is nvenc, but ffmpeg's h264_nvenc cannot encode here: Cannot load libcuda.so.1",
    ]);
  });

  it('libx264: libx264, whatever NVENC could do', () => {
    expect(chooseVideoEncoder('libx264', undefined).encoder).toBe('libx264');
    expect(chooseVideoEncoder('libx264', works).encoder).toBe('libx264');
  });

  it('refuses to decide auto or nvenc without the probe', () => {
    expect(() => chooseVideoEncoder('auto', undefined)).toThrow(TypeError);
    expect(() => chooseVideoEncoder('nvenc', undefined)).toThrow(TypeError);
  });
});

describe('selectVideoEncoder', () => {
  it('asks the probe for auto and nvenc only', async () => {
    let asked = 0;
    const probe = (): Promise<NvencProbeResult> => {
      asked += 1;
      return Promise.resolve(works);
    };
    expect((await selectVideoEncoder('libx264', probe)).encoder).toBe('libx264');
    expect(asked).toBe(0);
    expect((await selectVideoEncoder('auto', probe)).encoder).toBe('nvenc');
    expect((await selectVideoEncoder('nvenc', probe)).encoder).toBe('nvenc');
    expect(asked).toBe(2);
  });
});
