/** What the submit benchmark's ceilings answer, and how they listen. */
import type { Server } from 'node:http';

/** A queued job, as Zeus's `submitPrompt` answers the benchmark's query (a constant). */
export const CEILING_JOB = {
  id: '00000000-0000-4000-8000-000000000000',
  status: 'QUEUED',
  queuePosition: 1,
  settings: { seed: 42 },
} as const;

export const CEILING_ANSWER = { data: { submitPrompt: CEILING_JOB } } as const;

/** Listens on 127.0.0.1:`port` and says so on stdout; exits on SIGTERM. */
export function listenOn(server: Server, port: string | undefined): void {
  if (port === undefined || !/^\d+$/.test(port)) throw new Error('usage: <port>');
  server.listen(Number(port), '127.0.0.1', () => {
    console.log(`listening on 127.0.0.1:${port}`);
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
  });
}
