/**
 * The local stack's own endpoints: nothing but Caddy's public port is TCP, so no port is chosen,
 * released and then found taken by another of the stack's programs (the first start on a fresh
 * machine once failed so: Redis had taken the port chosen for an API server). Real Redis, API
 * servers, Caddy and a worker; the last test starts and stops the stack 20 times in a row.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, connectRedis } from '@zeus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchVia, socketPathOf } from '../../deploy/endpoints.ts';
import {
  startLocalStack,
  type LocalStack,
  type LocalStackOptions,
} from '../../deploy/local-stack.ts';
import { reservePort } from '../../deploy/ports.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeus-local-stack-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ENV = { ZEUS_MODEL: 'tiny-random', ZEUS_LOG_LEVEL: 'warn' };

function stackOptions(name: string, more: Partial<LocalStackOptions> = {}): LocalStackOptions {
  return {
    dataDir: join(dir, name, 'data'),
    generatedDir: join(dir, name, 'generated'),
    port: 0,
    workers: 0,
    env: ENV,
    ...more,
  };
}

/** A program of someone else's listening on a port of its own, on every address. */
async function squatter(): Promise<{ readonly server: Server; readonly port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('squatter\n');
  });
  server.listen(0);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/** What the program on `port` answers: its greeting, or an error when nothing listens there. */
async function squatterAnswer(port: number): Promise<string> {
  const client = connect(port, '127.0.0.1');
  let text = '';
  client.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await once(client, 'end');
  return text;
}

/** The TCP ports a process listens on, from /proc: its sockets' inodes in the TCP tables. */
async function listeningTcpPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const rows = (await readFile(`/proc/${pid}/net/${table}`, 'utf8')).split('\n').slice(1);
    for (const row of rows) {
      const fields = row.trim().split(/\s+/);
      // local_address is hex "addr:port"; state 0A is LISTEN; the inode is the tenth field.
      const [, local = '', , state, , , , , , inode = ''] = fields;
      if (state === '0A' && inodes.has(inode)) ports.push(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

async function healthOf(address: string): Promise<number> {
  const response = await fetchVia(address, '/healthz');
  await response.body?.cancel();
  return response.status;
}

describe('the local stack', () => {
  it('listens on TCP at its public port only, and moves on from a free port someone took', async () => {
    // The port the stack reserves first is taken meanwhile by someone else's program (the way
    // the old code's Redis took an API server's): the stack must use another.
    const other = await squatter();
    const reservations: number[] = [];
    let stack: LocalStack | undefined;
    try {
      stack = await startLocalStack(
        stackOptions('endpoints', {
          workers: 1,
          env: { ...ENV, ZEUS_DEVICE: 'cpu', ZEUS_MODELS_DIR: join(dir, 'endpoints', 'models') },
          reservePort: async () => {
            if (reservations.length === 0) {
              reservations.push(other.port);
              return { port: other.port, release: () => undefined };
            }
            const reservation = await reservePort();
            reservations.push(reservation.port);
            return reservation;
          },
        }),
      );
      const port = Number(new URL(stack.url).port);
      expect(reservations).toEqual([other.port, port]);
      expect(port).not.toBe(other.port);
      // The other program still has its port, and Zeus answers on its own.
      expect(await squatterAnswer(other.port)).toBe('squatter\n');
      const system = await fetch(stack.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ system { workersOnline } }' }),
      });
      expect(await system.json()).toEqual({ data: { system: { workersOnline: 1 } } });

      // Every internal endpoint is a socket in the stack's folder, and answers there.
      expect((await readdir(stack.socketDir)).sort()).toEqual([
        'api-1.sock',
        'api-2.sock',
        'api-3.sock',
        'caddy-admin.sock',
        'redis.sock',
        'worker-1.sock',
      ]);
      expect(stack.socketDir).toBe(join(dir, 'endpoints', 'data', 'run'));
      expect(stack.notices).toEqual([]);
      for (const address of Object.values(stack.apiAddresses)) {
        expect(socketPathOf(address)?.startsWith(stack.socketDir)).toBe(true);
        expect(await healthOf(address)).toBe(200);
      }
      const workerStatus = stack.workerStatusAddresses['worker-1'] ?? '';
      expect(socketPathOf(workerStatus)).toBe(join(stack.socketDir, 'worker-1.sock'));
      // 503 while the tiny model is being made, 200 once loaded: either way, it answers.
      expect([200, 503]).toContain(await healthOf(workerStatus));
      const upstreams = await fetchVia(stack.caddyAdminAddress, '/reverse_proxy/upstreams');
      const addresses = ((await upstreams.json()) as { address: string }[]).map((u) => u.address);
      expect(addresses.sort()).toEqual(Object.values(stack.apiAddresses).sort());
      expect(stack.redisUrl).toBe(`unix://${join(stack.socketDir, 'redis.sock')}`);
      const redis = connectRedis(stack.redisUrl, { name: 'local-stack-test', role: 'requests' });
      try {
        expect(await redis.ping()).toBe('PONG');
      } finally {
        await closeRedis(redis);
      }

      // And no process of the stack listens on any TCP port but Caddy on the public one.
      const listening: Record<string, number[]> = {};
      for (const name of stack.processNames) {
        listening[name] = await listeningTcpPorts(stack.pid(name) ?? 0);
      }
      expect(listening).toEqual({
        redis: [],
        'api-1': [],
        'api-2': [],
        'api-3': [],
        'worker-1': [],
        caddy: [port],
      });
    } finally {
      await stack?.stop();
      await new Promise((resolve) => other.server.close(resolve));
    }
  });

  it('says at once when the port it is given is taken, and starts nothing', async () => {
    const other = await squatter();
    try {
      const options = stackOptions('taken', { port: other.port });
      await expect(startLocalStack(options)).rejects.toThrow(
        `Port ${other.port} is taken by another program: stop it, or set ZEUS_PORT to a free port.`,
      );
      expect(await readdir(join(options.dataDir, 'logs'))).toEqual([]);
      expect(await squatterAnswer(other.port)).toBe('squatter\n');
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
  });

  it('keeps TCP where the operator fixed the ports (ZEUS_API_PORTS, ZEUS_WORKER_PORT)', async () => {
    // Held until the servers bind them (ports.ts), so that no one else gets them meanwhile.
    const reserved = await Promise.all([1, 2, 3, 4].map(() => reservePort()));
    const [workerPort = 0, ...apiPorts] = reserved.map((reservation) => reservation.port);
    let stack: LocalStack | undefined;
    try {
      stack = await startLocalStack(
        stackOptions('fixed', {
          apiPorts,
          workers: 1,
          env: {
            ...ENV,
            ZEUS_DEVICE: 'cpu',
            ZEUS_MODELS_DIR: join(dir, 'fixed', 'models'),
            ZEUS_WORKER_PORT: String(workerPort),
          },
        }),
      );
      expect(stack.apiAddresses).toEqual({
        'api-1': `127.0.0.1:${apiPorts[0]}`,
        'api-2': `127.0.0.1:${apiPorts[1]}`,
        'api-3': `127.0.0.1:${apiPorts[2]}`,
      });
      expect(stack.workerStatusAddresses).toEqual({ 'worker-1': `127.0.0.1:${workerPort}` });
      for (const port of apiPorts) {
        expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({
          status: 'ok',
          problems: [],
        });
      }
      const worker = await fetch(`http://127.0.0.1:${workerPort}/metrics`);
      expect(await worker.text()).toMatch(/^zeus_worker_busy/m);
      const upstreams = await fetchVia(stack.caddyAdminAddress, '/reverse_proxy/upstreams');
      const addresses = ((await upstreams.json()) as { address: string }[]).map((u) => u.address);
      expect(addresses.sort()).toEqual(Object.values(stack.apiAddresses).sort());
      // Only Redis and Caddy's admin API are sockets then.
      expect((await readdir(stack.socketDir)).sort()).toEqual(['caddy-admin.sock', 'redis.sock']);
    } finally {
      for (const reservation of reserved) reservation.release();
      await stack?.stop();
    }
  });

  it('puts its sockets in a private temporary folder when the data folder is too deep', async () => {
    // 120 characters: no socket path under it fits the 107 bytes a socket's path may have.
    const deep = join(dir, 'deep', 'd'.repeat(120));
    await mkdir(deep, { recursive: true });
    const stack = await startLocalStack({ ...stackOptions('deep'), dataDir: deep });
    const { socketDir } = stack;
    try {
      expect(socketDir.startsWith(join(tmpdir(), 'zeus-'))).toBe(true);
      expect(stack.notices).toEqual([
        `The stack's Unix sockets are in ${socketDir}/: under ${join(deep, 'run')}/ their paths ` +
          "would be longer than the 107 bytes a socket's path may have.",
      ]);
      for (const address of Object.values(stack.apiAddresses)) {
        expect(await healthOf(address)).toBe(200);
      }
    } finally {
      await stack.stop();
    }
    expect(existsSync(socketDir)).toBe(false);
  });

  it('starts and stops 20 times in a row in one data folder', async () => {
    const started = Date.now();
    // Every program of the stack (Redis, an API server, Caddy), each start in the same folder:
    // one API server rather than three, the other two being the same program on other sockets,
    // which the first tests here start; it keeps the suite within CI's 20 minutes.
    const options = stackOptions('again', { apiServers: 1 });
    for (let run = 1; run <= 20; run += 1) {
      const stack = await startLocalStack(options);
      try {
        for (const [name, address] of Object.entries(stack.apiAddresses)) {
          expect([run, name, await healthOf(address)]).toEqual([run, name, 200]);
        }
      } finally {
        await stack.stop();
      }
      await expect(fetch(stack.url)).rejects.toThrow();
    }
    console.log(
      `20 starts and stops of the local stack: ${Math.round((Date.now() - started) / 1000)} s`,
    );
  }, 1_800_000);
});
