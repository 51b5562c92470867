/**
 * TCP ports reserved for a program that binds them later, without the window in which a port
 * asked of the system and closed again can be handed to someone else.
 *
 * A reservation is a connection over loopback whose own end is bound to the port (with
 * SO_REUSEADDR, as Node binds). While it lasts:
 * - the system never gives the port to anyone asking for any free port (port 0), since it is in
 *   use;
 * - nothing listens on it, so connecting to it is refused (a test's "port nothing answers on");
 * - a program that binds it by number with SO_REUSEADDR, as Node, Go (Caddy) and Redis do, can
 *   listen on it: Linux lets a listener share a port with sockets that do not listen.
 * Release it once that program listens (or when the port is no longer needed).
 *
 * The local stack needs one only for Caddy's public port when asked for any free port (its
 * other endpoints are Unix sockets); tests use them for ports given to programs by number.
 */
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';

export interface PortReservation {
  readonly port: number;
  /** Ends the reservation; the port is then free for anyone. */
  release(): void;
}

export async function reservePort(): Promise<PortReservation> {
  // The far end of the connection: a listener on a port of its own, closed once connected.
  const anchor = createServer();
  anchor.listen(0, '127.0.0.1');
  await once(anchor, 'listening');
  const accepted = once(anchor, 'connection') as Promise<[Socket]>;
  const { port: anchorPort } = anchor.address() as { port: number };
  // `localAddress` makes Node bind this end itself (SO_REUSEADDR) before connecting; a plain
  // connect would bind it without, and then no program could listen on the port.
  const holder = connect({ port: anchorPort, host: '127.0.0.1', localAddress: '127.0.0.1' });
  let far: Socket;
  try {
    [[far]] = await Promise.all([accepted, once(holder, 'connect')]);
  } finally {
    anchor.close();
  }
  for (const socket of [holder, far]) {
    socket.on('error', () => undefined);
    // A reservation never keeps a process running by itself.
    socket.unref();
  }
  return {
    port: holder.localPort ?? 0,
    release: () => {
      holder.destroy();
      far.destroy();
    },
  };
}
