import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { reservePort } from './ports.ts';

/** The error code of connecting to 127.0.0.1:port, or 'connected'. */
async function tryConnect(port: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return 'connected';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  } finally {
    socket.destroy();
  }
}

describe('reservePort', () => {
  it('holds a port nothing answers on, which a program can still bind by number', async () => {
    const reservation = await reservePort();
    const { port } = reservation;
    try {
      expect(await tryConnect(port)).toBe('ECONNREFUSED');
      // Asked for any free port, the system never hands out the one reserved.
      for (let i = 0; i < 50; i += 1) {
        const other = createServer().listen(0, '127.0.0.1');
        await once(other, 'listening');
        expect((other.address() as { port: number }).port).not.toBe(port);
        await new Promise((resolve) => other.close(resolve));
      }
      // The program it was reserved for binds it, on every address as Caddy does, while held.
      const server = createServer((socket) => {
        socket.on('error', () => undefined);
        socket.end('mine');
      });
      server.listen(port);
      await once(server, 'listening');
      expect(await tryConnect(port)).toBe('connected');
      await new Promise((resolve) => server.close(resolve));
    } finally {
      reservation.release();
    }
  });
});
