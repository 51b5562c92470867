/**
 * `deploy.ts --local`: reads the settings, starts the local stack, says where Zeus answers,
 * reports processes that die and come back, and stops everything on Ctrl-C or SIGTERM.
 */
import { ensureClientBuilt } from '@zeus/client/build';
import { ConfigError } from '@zeus/core';
import { loadLocalDeployConfig } from './config.ts';
import { detectWorkerGpus, localWorkerCount } from './local-gpus.ts';
import { startLocalStack } from './local-stack.ts';
import type { SupervisorEvent } from './supervisor.ts';

/** Runs until a stop signal; returns the exit code. */
export async function deployLocally(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  let config;
  try {
    config = loadLocalDeployConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }

  // Listeners stay for good: Ctrl-C can arrive twice (the terminal sends it to npx and tsx
  // too, which pass it on), and a second one must not kill this process mid-stop.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.on('SIGINT', () => {
      resolve('SIGINT');
    });
    process.on('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });

  // ZEUS_WORKERS unset: one worker per GPU, each on its own (local-gpus.ts).
  const gpus = detectWorkerGpus(env);
  const workersSet = (env['ZEUS_WORKERS'] ?? '').trim() !== '';
  const workers = localWorkerCount(workersSet ? config.ZEUS_WORKERS : undefined, gpus);
  const pinned = gpus.length > 1 && workers > 0 ? `, spread over ${gpus.length} GPUs` : '';
  console.log(
    `Starting Zeus locally: ${config.REDIS_URL === undefined ? 'Redis, ' : ''}3 API servers, ` +
      `Caddy and ${workers} worker(s)${pinned} running ${config.ZEUS_MODEL}…`,
  );
  let stack;
  try {
    // Caddy serves the web app from client/dist: build it when the sources are newer.
    if ((await ensureClientBuilt()).built) console.log('Built the web app (client/dist).');
    stack = await startLocalStack({
      dataDir: config.ZEUS_DATA_DIR,
      generatedDir: config.ZEUS_GENERATED_DIR,
      port: config.ZEUS_PORT,
      workers,
      workerGpus: gpus,
      redisUrl: config.REDIS_URL,
      caddyAdmin: config.ZEUS_CADDY_ADMIN,
      ...(config.ZEUS_API_PORTS === undefined ? {} : { apiPorts: config.ZEUS_API_PORTS }),
    });
  } catch (error) {
    console.error(`Zeus did not start: ${(error as Error).message}`);
    console.error(`Logs: ${config.ZEUS_DATA_DIR}/logs/`);
    return 1;
  }

  stack.onEvent((event) => {
    const message = describeEvent(event);
    if (message !== null) console.log(message);
  });
  for (const notice of stack.notices) console.log(notice);
  const port = new URL(stack.url).port;
  console.log(`Deployment complete. Zeus is at http://localhost:${port}`);
  console.log(`  GraphQL API: http://localhost:${port}/graphql (WebSocket on the same path)`);
  console.log(`  Logs: ${stack.logDir}/`);
  console.log('  Press Ctrl-C to stop.');

  const signal = await stopRequested;
  console.log(`Stopping Zeus (${signal})…`);
  await stack.stop();
  console.log('Zeus stopped.');
  return 0;
}

function describeEvent(event: SupervisorEvent): string | null {
  switch (event.type) {
    case 'exited': {
      if (event.restartInMs === null) return null;
      const how = event.signal === null ? `with code ${event.code}` : `on ${event.signal}`;
      return `${event.name} stopped ${how}; restarting it in ${event.restartInMs} ms.`;
    }
    case 'gave-up':
      return `${event.name} will not be restarted: ${event.reason}`;
    case 'spawned':
      return event.starts > 1 ? `${event.name} restarted (pid ${event.pid}).` : null;
  }
}
