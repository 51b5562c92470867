import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  boundAddress,
  listen,
  MAX_SOCKET_PATH_BYTES,
  SocketInUseError,
  socketAnswers,
  socketPathProblem,
} from './listen.ts';

let dir: string;
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-listen-'));
});
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
  await rm(dir, { recursive: true, force: true });
});

function httpServer(answer: string): Server {
  const server = createServer((_request, response) => response.end(answer));
  servers.push(server);
  return server;
}

/** A socket file whose process was killed (kill -9): nothing answers on it, and it stays. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
}

describe('listen on a Unix socket', () => {
  it('listens, and says where', async () => {
    const path = join(dir, 'api.sock');
    const server = httpServer('hello');
    await listen(server, { socket: path });
    expect(boundAddress(server)).toEqual({ socket: path });
    expect(await socketAnswers(path)).toBe(true);
  });

  it('replaces a socket file nobody answers on (its process was killed)', async () => {
    const path = join(dir, 'api.sock');
    await staleSocket(path);
    expect((await lstat(path)).isSocket()).toBe(true);
    expect(await socketAnswers(path)).toBe(false);

    const server = httpServer('new');
    await listen(server, { socket: path });
    expect(await socketAnswers(path)).toBe(true);
  });

  it('never takes a live one: the server there keeps it', async () => {
    const path = join(dir, 'api.sock');
    await listen(httpServer('first'), { socket: path });
    const second = httpServer('second');
    const refused: unknown = await listen(second, { socket: path }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(SocketInUseError);
    expect((refused as Error).message).toBe(`Another process listens on ${path}.`);
    expect(second.listening).toBe(false);
    expect(await socketAnswers(path)).toBe(true);
  });

  it('leaves a file that is not a socket alone', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, 'mine');
    await expect(listen(httpServer('x'), { socket: path })).rejects.toThrow(
      `${path} exists and is not a socket: move it out of the way.`,
    );
    expect(await readFile(path, 'utf8')).toBe('mine');
  });

  it('refuses a path longer than the system takes, saying how long it is', async () => {
    const path = join(dir, 'x'.repeat(MAX_SOCKET_PATH_BYTES), 'api.sock');
    const length = Buffer.byteLength(path);
    expect(socketPathProblem(path)).toBe(
      `is ${length} bytes long; a Unix socket's path may have at most 107`,
    );
    await expect(listen(httpServer('x'), { socket: path })).rejects.toThrow(
      `The socket path ${path} is ${length} bytes long`,
    );
    expect(socketPathProblem('relative.sock')).toBe('must be an absolute path');
    expect(socketPathProblem(join(dir, 'api.sock'))).toBeNull();
  });
});

describe('listen on TCP', () => {
  it('reports the port the system chose for port 0', async () => {
    const server = httpServer('tcp');
    await listen(server, { host: '127.0.0.1', port: 0 });
    const address = boundAddress(server);
    expect(address).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) as unknown });
    const port = 'port' in address ? address.port : 0;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('tcp');
  });
});
