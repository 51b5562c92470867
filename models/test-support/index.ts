/** Test helpers other workspaces import as `@zeus/models/test-support`. */
export { startHubServer, type HubServer } from './hub-server.ts';
export { writeTinyHubRepos } from './tiny-hub.ts';
export { TINY_STREAM_VAE_CONFIG } from './tiny-vae-config.ts';
