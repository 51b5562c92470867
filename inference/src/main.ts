/**
 * Worker entry point: `node --import tsx inference/src/main.ts`, configured by the environment
 * (see worker/config.ts). Exits with EXIT_CONFIG when the configured model or video encoder
 * cannot run here.
 */
import {
  ConfigError,
  createLogger,
  EXIT_CONFIG,
  loadConfigOrExit,
  ModelUnavailableError,
  onShutdown,
} from '@zeus/core';
import { workerEnvironment } from './worker/config.ts';
import { startWorker } from './worker/worker.ts';

const config = loadConfigOrExit(workerEnvironment, 'Worker');
const logger = createLogger('worker', config.ZEUS_LOG_LEVEL).child({
  workerId: config.ZEUS_WORKER_ID,
});

let worker;
try {
  worker = await startWorker(config, logger);
} catch (error) {
  if (!(error instanceof ModelUnavailableError || error instanceof ConfigError)) throw error;
  console.error(`Worker: ${error.message}`);
  process.exit(EXIT_CONFIG);
}
const running = worker;
onShutdown(async (reason) => {
  logger.info({ reason }, 'worker shutting down');
  await running.close();
  logger.info('worker stopped');
});
