/**
 * Free TCP ports for the local stack's programs. Asking the system for a port and handing it
 * to a program that binds it later leaves a small window in which someone else could take it;
 * Redis and Caddy cannot report a port they chose themselves, so this is the practical way.
 */
import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('No TCP port was assigned.');
  return address.port;
}

/** Distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}
