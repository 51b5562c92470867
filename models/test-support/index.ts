/** Test helpers other workspaces import as `@zeus/models/test-support`. */
export * from './hub-server.ts';
export * from './tiny-hub.ts';
export * from './tiny-vae-config.ts';
