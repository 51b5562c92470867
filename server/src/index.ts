export { startApiServer, GRAPHQL_PATH, HEALTH_PATH, SHUTDOWN_CLOSE_CODE } from './api-server.ts';
export type { ApiServer } from './api-server.ts';
export { serverEnvironment, type ServerConfig } from './config.ts';
