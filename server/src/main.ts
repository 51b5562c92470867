/**
 * API server entry point: `node --import tsx server/src/main.ts`, configured by the
 * environment (see config.ts).
 */
import { createLogger, loadConfigOrExit, onShutdown } from '@zeus/core';
import { startApiServer } from './api-server.ts';
import { serverEnvironment } from './config.ts';

const config = loadConfigOrExit(serverEnvironment, 'API server');
const logger = createLogger('api', config.ZEUS_LOG_LEVEL);
const server = await startApiServer(config, logger);
onShutdown(async (reason) => {
  logger.info({ reason }, 'API server shutting down');
  await server.close();
  logger.info('API server stopped');
});
