/**
 * Where a Zeus HTTP server listens: a TCP host and port, or a Unix socket. Local mode puts every
 * internal endpoint on a socket in its data folder (deploy/local-stack.ts), so no port is ever
 * chosen, released and handed to a program that binds it later, when someone else may have it.
 *
 * Node's listen fails with EADDRINUSE on a socket file left behind by a process that was killed
 * (kill -9, a crash, a power cut): such a file is removed first, but only when nothing answers
 * on it, so a live server's socket is never taken.
 */
import { lstat, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { isAbsolute } from 'node:path';

export type ListenAddress =
  { readonly socket: string } | { readonly host: string; readonly port: number };

/** The longest Unix socket path the system takes: sockaddr_un has 108 bytes, one for the NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What is wrong with `path` as a Unix socket's path, or null. */
export function socketPathProblem(path: string): string | null {
  if (!isAbsolute(path)) return 'must be an absolute path';
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return `is ${bytes} bytes long; a Unix socket's path may have at most ${MAX_SOCKET_PATH_BYTES}`;
  }
  return null;
}

/** A process listens on the socket path a server was given. */
export class SocketInUseError extends Error {
  constructor(readonly path: string) {
    super(`Another process listens on ${path}.`);
    this.name = 'SocketInUseError';
  }
}

/**
 * Makes `path` free for a new socket: nothing there, or a socket file nobody answers on (which is
 * removed). Throws SocketInUseError when a process answers, and an Error when the path is not
 * usable (too long, or a file that is not a socket).
 */
export async function claimSocketPath(path: string): Promise<void> {
  const problem = socketPathProblem(path);
  if (problem !== null) throw new Error(`The socket path ${path} ${problem}.`);
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket: move it out of the way.`);
  if (await socketAnswers(path)) throw new SocketInUseError(path);
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Whether a process accepts connections on the socket at `path`. */
export async function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // Refused: a file whose server is gone. Missing: it went away meanwhile.
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

/** Starts `server` listening at `address`; a socket path is claimed first (claimSocketPath). */
export async function listen(server: Server, address: ListenAddress): Promise<void> {
  if ('socket' in address) await claimSocketPath(address.socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      resolve();
    };
    if ('socket' in address) server.listen(address.socket, listening);
    else server.listen(address.port, address.host, listening);
  });
}

/** Where a listening server is: its socket, or its host and port (the one chosen for port 0). */
export function boundAddress(server: Server): ListenAddress {
  const address = server.address();
  if (address === null) throw new Error('The server is not listening.');
  if (typeof address === 'string') return { socket: address };
  return { host: address.address, port: address.port };
}
