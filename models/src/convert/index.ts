export * from './cache.ts';
export * from './file-hash.ts';
