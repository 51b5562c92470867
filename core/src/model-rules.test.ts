import { describe, expect, it } from 'vitest';
import { latentTokens, modelRules, sizePresets } from './model-rules.ts';

describe('modelRules', () => {
  it('says LTX-Video 0.9.6-distilled ignores the negative prompt (it runs without guidance)', () => {
    for (const model of ['ltxv-2b-0.9.6-distilled', 'tiny-random'] as const) {
      expect(modelRules(model).ignoredSettings).toEqual(['negativePrompt']);
    }
  });

  it('offers each shape at a size on the model grid, near the default size', () => {
    const rules = modelRules('ltxv-2b-0.9.6-distilled');
    expect(rules.sizePresets).toEqual([
      { aspect: '21:9', width: 960, height: 416 },
      { aspect: '16:9', width: 864, height: 480 },
      { aspect: '3:2', width: 768, height: 512 },
      { aspect: '4:3', width: 736, height: 544 },
      { aspect: '1:1', width: 640, height: 640 },
      { aspect: '3:4', width: 544, height: 736 },
      { aspect: '2:3', width: 512, height: 768 },
      { aspect: '9:16', width: 480, height: 864 },
    ]);
    const area = rules.defaults.width * rules.defaults.height;
    for (const preset of rules.sizePresets) {
      const [across, down] = preset.aspect.split(':').map(Number) as [number, number];
      expect(preset.width % rules.sizeMultiple).toBe(0);
      expect(preset.height % rules.sizeMultiple).toBe(0);
      expect(Math.abs(preset.width / preset.height / (across / down) - 1)).toBeLessThan(0.03);
      expect(Math.abs((preset.width * preset.height) / area - 1)).toBeLessThan(0.1);
      // Every preset runs at the default length.
      const tokens = latentTokens(rules, { ...preset, numFrames: rules.defaults.numFrames });
      expect(tokens).toBeLessThanOrEqual(rules.maxLatentTokens);
    }
  });

  it('keeps presets within the limits, and leaves out a shape the limits cannot make', () => {
    const narrow = {
      defaults: { negativePrompt: '', width: 256, height: 256, numFrames: 9, frameRate: 25 },
      sizeMultiple: 32,
      width: { min: 64, max: 320 },
      height: { min: 64, max: 96 },
    };
    expect(
      sizePresets(narrow, [
        [3, 1],
        [1, 3],
      ]),
    ).toEqual([{ aspect: '3:1', width: 288, height: 96 }]);
  });
});
