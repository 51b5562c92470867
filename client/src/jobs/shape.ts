/**
 * Sizes as shapes and lengths in seconds: the form's size presets (from the model's rules) and
 * the frame count a length in seconds comes to. Pure: tested without a browser.
 */
import type { ModelRules, SizePreset } from '../api/operations.ts';

/** The shape select's value for "none of the presets". */
export const CUSTOM_SHAPE = 'custom';

/** The preset a size is, or `CUSTOM_SHAPE`. */
export function shapeOf(
  rules: Pick<ModelRules, 'sizePresets'>,
  width: string,
  height: string,
): string {
  const preset = rules.sizePresets.find(
    (candidate) =>
      String(candidate.width) === width.trim() && String(candidate.height) === height.trim(),
  );
  return preset?.aspect ?? CUSTOM_SHAPE;
}

/** "16:9 landscape, 864×480". */
export function presetLabel(preset: SizePreset): string {
  const orientation =
    preset.width > preset.height
      ? 'landscape'
      : preset.width < preset.height
        ? 'portrait'
        : 'square';
  return `${preset.aspect} ${orientation}, ${preset.width}×${preset.height}`;
}

/** Seconds a video of `numFrames` frames lasts at `frameRate`. */
export function secondsOf(numFrames: number, frameRate: number): number {
  return numFrames / frameRate;
}

/** "4.84" */
export function formatSeconds(seconds: number): string {
  return seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
}

/**
 * The allowed frame count (`frameStep`·k + 1, within the limits) whose length at `frameRate` is
 * nearest `seconds`; null when `seconds` is not a positive number or the rate is not usable.
 */
export function framesForSeconds(
  rules: Pick<ModelRules, 'frameStep' | 'numFrames'>,
  seconds: number,
  frameRate: number,
): number | null {
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  if (!Number.isFinite(frameRate) || frameRate <= 0) return null;
  const steps = Math.round((seconds * frameRate - 1) / rules.frameStep);
  const frames = steps * rules.frameStep + 1;
  const lowest = Math.ceil((rules.numFrames.min - 1) / rules.frameStep) * rules.frameStep + 1;
  const highest = Math.floor((rules.numFrames.max - 1) / rules.frameStep) * rules.frameStep + 1;
  return Math.min(highest, Math.max(lowest, frames));
}
