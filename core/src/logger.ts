/**
 * Structured JSON logs (pino) on standard output, one line per event. Components log through a
 * child logger per job (`logger.child({ jobId })`) so every line about a job carries its id.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(component: string, level: LogLevel): Logger {
  return pino({
    level,
    base: { component, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // "level":"info" reads better in files and log tools than pino's numbers.
      level: (label) => ({ level: label }),
    },
  });
}
