export * from './schedule.ts';
export * from './euler.ts';
export * from './latents.ts';
export * from './noise.ts';
export * from './denoise.ts';
export * from './conditioning.ts';
