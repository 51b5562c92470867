/**
 * A WebSocket driven by hand, frame by frame, for tests that break the graphql-ws protocol on
 * purpose: every message received and the close code are observable as promises.
 */
import WebSocket from 'ws';

export const GRAPHQL_WS_PROTOCOL = 'graphql-transport-ws';

export interface RawWebSocket {
  /** Resolves once open; rejects with the HTTP status when the upgrade is refused. */
  readonly opened: Promise<void>;
  /** The close code and reason. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  send(data: string | Buffer | Record<string, unknown>): void;
  /** The next message received, parsed as JSON. */
  next(): Promise<Record<string, unknown>>;
  close(): void;
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`WebSocket upgrade refused with ${status}: ${body}`);
  }
}

export function rawWebSocket(
  url: string,
  options: { protocol?: string | null; origin?: string; headers?: Record<string, string> } = {},
): RawWebSocket {
  const protocol = options.protocol === undefined ? GRAPHQL_WS_PROTOCOL : options.protocol;
  const socket = new WebSocket(url, protocol === null ? [] : [protocol], {
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  const inbox: Record<string, unknown>[] = [];
  const waiters: ((message: Record<string, unknown>) => void)[] = [];
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter === undefined) inbox.push(message);
    else waiter(message);
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      resolve();
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        reject(new UpgradeRefused(response.statusCode ?? 0, body));
      });
    });
    socket.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
    });
  });
  opened.catch(() => undefined);
  return {
    opened,
    closed,
    send: (data) => {
      socket.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data));
    },
    next: () => {
      const message = inbox.shift();
      if (message !== undefined) return Promise.resolve(message);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => {
      socket.terminate();
    },
  };
}
