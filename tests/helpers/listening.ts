/**
 * The TCP port a Zeus process started with port 0 listens on, read back from the line it logs
 * once listening (JSON with `port`): tests give the system the choice instead of picking a port
 * and releasing it for the process to bind, which another test file could take meanwhile.
 */
import type { Supervisor } from '../../deploy/supervisor.ts';

/** Waits for the process's "listening" line and returns the port in it. */
export async function listeningPort(
  supervisor: Supervisor,
  name: string,
  timeoutMs: number,
): Promise<number> {
  await supervisor.waitForOutput(name, /listening/, timeoutMs);
  for (const line of supervisor.recentOutput(name).split('\n')) {
    if (!line.startsWith('{') || !line.includes('listening')) continue;
    const { port } = JSON.parse(line) as { port?: unknown };
    if (typeof port === 'number') return port;
  }
  throw new Error(`${name} said it listens, but on no port:\n${supervisor.recentOutput(name)}`);
}
