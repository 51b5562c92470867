import { describe, expect, it } from 'vitest';
import {
  CUSTOM_SHAPE,
  formatSeconds,
  framesForSeconds,
  presetLabel,
  secondsOf,
  shapeOf,
} from '../src/jobs/shape.ts';
import { RULES } from './fixtures.ts';

describe('shapes', () => {
  it('knows a preset by its size, and anything else as custom', () => {
    expect(shapeOf(RULES, '864', '480')).toBe('16:9');
    expect(shapeOf(RULES, ' 768 ', '512')).toBe('3:2');
    expect(shapeOf(RULES, '480', '864')).toBe('9:16');
    expect(shapeOf(RULES, '800', '480')).toBe(CUSTOM_SHAPE);
    expect(shapeOf(RULES, '', '')).toBe(CUSTOM_SHAPE);
  });

  it('labels a preset by its shape, orientation and size', () => {
    expect(presetLabel({ aspect: '16:9', width: 864, height: 480 })).toBe(
      '16:9 landscape, 864×480',
    );
    expect(presetLabel({ aspect: '1:1', width: 640, height: 640 })).toBe('1:1 square, 640×640');
    expect(presetLabel({ aspect: '9:16', width: 480, height: 864 })).toBe('9:16 portrait, 480×864');
  });
});

describe('lengths in seconds', () => {
  it('gives the allowed frame count nearest a length', () => {
    expect(framesForSeconds(RULES, 4.84, 25)).toBe(121);
    // 5 s at 25 fps is 125 frames: 121 and 129 are allowed, 129 is nearer (5.16 s).
    expect(framesForSeconds(RULES, 5, 25)).toBe(129);
    expect(framesForSeconds(RULES, 1, 8)).toBe(9);
    // Clamped to the limits (9 to 257 frames).
    expect(framesForSeconds(RULES, 0.01, 25)).toBe(9);
    expect(framesForSeconds(RULES, 60, 25)).toBe(257);
  });

  it('gives nothing for a length or rate that is not a positive number', () => {
    expect(framesForSeconds(RULES, 0, 25)).toBeNull();
    expect(framesForSeconds(RULES, Number.NaN, 25)).toBeNull();
    expect(framesForSeconds(RULES, 2, 0)).toBeNull();
  });

  it('says the length of a frame count', () => {
    expect(formatSeconds(secondsOf(121, 25))).toBe('4.84');
    expect(formatSeconds(secondsOf(257, 25))).toBe('10.3');
  });
});
