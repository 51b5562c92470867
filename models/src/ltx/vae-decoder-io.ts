/**
 * The decoder graphs' interface with the runtime: their input and output names, and the
 * timestep input, which the host computes.
 */
import { timestepFeatures } from './transformer-inputs.ts';

/** Graph input and output names shared with the runtime. */
export const VAE_IO = {
  latents: 'latents',
  noise: 'noise',
  noiseScale: 'noise_scale',
  /** The decode timestep's sinusoid [1, 256] (`vaeTimestepFeatures`). */
  timestepFeatures: 'timestep_features',
  streamFrames: 'stream_frames',
  last: 'last',
  chunk: 'chunk',
  frames: 'frames',
  pending: 'pending',
  decoded: 'decoded',
  video: 'video',
  stateIn: 'state_in.',
  stateOut: 'state_out.',
} as const;

/**
 * The decoder's timestep input `timestep_features` [1, 256]: [cos | sin] of τ·φ_j with
 * τ = timestep·multiplier and φ_j = exp(−ln(10⁴)·j/128), the exponents, frequencies and angles
 * formed in float32 as the reference does (the transformer's `timestepFeatures`).
 */
export function vaeTimestepFeatures(timestep: number, multiplier: number): Float32Array {
  return timestepFeatures([timestep], multiplier);
}
