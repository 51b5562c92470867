/**
 * How Zeus's long-running processes start and end: a bad configuration exits with
 * `EXIT_CONFIG`; SIGTERM, SIGINT, or the loss of the IPC channel to the process that started
 * them (the local stack's supervisor) runs their shutdown once. A second signal during
 * shutdown exits at once.
 */
import type { z } from 'zod';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

/**
 * Exit code (sysexits' EX_CONFIG) of a process whose configuration cannot work: the local
 * stack's supervisor does not restart it, since it would fail the same way again.
 */
export const EXIT_CONFIG = 78;

/**
 * Reads the process's configuration, or prints every problem with it and exits with
 * `EXIT_CONFIG`.
 */
export function loadConfigOrExit<Schema extends z.ZodType>(
  schema: Schema,
  processName: string,
): z.infer<Schema> {
  try {
    return loadConfig(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${processName}: ${error.message}`);
    process.exit(EXIT_CONFIG);
  }
}

export function onShutdown(shutdown: (reason: string) => Promise<void>): void {
  let shuttingDown = false;
  const begin = (reason: string): void => {
    if (shuttingDown) {
      process.exit(1);
    }
    shuttingDown = true;
    shutdown(reason).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => {
    begin('SIGTERM');
  });
  process.on('SIGINT', () => {
    begin('SIGINT');
  });
  if (process.channel !== undefined) {
    process.on('disconnect', () => {
      begin('supervisor gone');
    });
    // The channel is only a lifeline: it must not keep the process alive by itself.
    process.channel.unref();
  }
}
