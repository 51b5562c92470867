/**
 * Caddy, the local stack's front door (local-stack.ts): started on its public port, a given one
 * or a reserved free one, and moved to another free port should someone take it meanwhile.
 */
import { createServer } from 'node:net';
import type { PortReservation } from './ports.ts';
import { remaining } from './readiness.ts';
import type { ProcessSpec, Supervisor } from './supervisor.ts';

export function portTaken(port: number): Error {
  return new Error(
    `Port ${port} is taken by another program: stop it, or set ZEUS_PORT to a free port.`,
  );
}

/** Fails with portTaken when a program listens on `port` (on any address, as Caddy would). */
export async function checkPortFree(port: number): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolveListen, reject) => {
      probe.once('error', reject);
      probe.listen(port, resolveListen);
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portTaken(port);
    throw error;
  }
  await new Promise((resolveClose) => probe.close(resolveClose));
}

/** Caddy's line once it listens with its configuration. */
const CADDY_SERVING = /serving initial configuration/;
/** Free ports tried for `port: 0` before giving up, when each turns out to be taken. */
const PUBLIC_PORT_TRIES = 5;

/**
 * Starts Caddy and resolves with its port once it listens. A port given is used or the start
 * fails, saying the port is taken; for port 0, a reserved free port, and another one should
 * someone have taken it meanwhile (a program binding that number itself can).
 */
export async function startCaddy(
  supervisor: Supervisor,
  options: {
    readonly port: number;
    readonly reservePort: () => Promise<PortReservation>;
    readonly deadline: number;
    readonly spec: (port: number) => ProcessSpec;
  },
): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    const reservation = options.port === 0 ? await options.reservePort() : null;
    const port = reservation?.port ?? options.port;
    try {
      await supervisor.start(options.spec(port));
      await supervisor.waitForOutput('caddy', CADDY_SERVING, remaining(options.deadline));
      return port;
    } catch (error) {
      const taken = new RegExp(`listen tcp \\S*:${port}: bind: address already in use`);
      if (!taken.test((error as Error).message)) throw error;
    } finally {
      // Caddy listens now, or never will on this port.
      reservation?.release();
    }
    await supervisor.remove('caddy');
    if (options.port !== 0) throw portTaken(port);
    if (attempt >= PUBLIC_PORT_TRIES) {
      throw new Error(`Caddy found each of ${attempt} free ports taken by the time it bound it.`);
    }
  }
}
