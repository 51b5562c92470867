/**
 * The local stack's internal endpoints (API servers, workers' status servers, Caddy's admin API),
 * named as Caddy names them: `unix//path/to/api-1.sock` for a Unix socket (the default),
 * `127.0.0.1:4001` for TCP (ports an operator fixed). `fetchVia` sends an HTTP request to either.
 *
 *   const health = await fetchVia(stack.apiAddresses['api-1'], '/healthz');
 *
 * fetch cannot reach a Unix socket by itself, and Node's http client can, so a socket gets a
 * request from node:http wrapped as a fetch Response. Its Host header is empty unless given: a
 * URL without a host gets an empty one (RFC 9112, 3.2), and Caddy's admin API on a socket
 * accepts nothing else.
 */
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

/** The address of a Unix socket (an absolute path), as Caddy writes it. */
export function unixAddress(path: string): string {
  return `unix/${path}`;
}

/** The socket's path when `address` is a Unix socket's; null for host:port. */
export function socketPathOf(address: string): string | null {
  return address.startsWith('unix/') ? address.slice('unix/'.length) : null;
}

export interface FetchViaInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** An HTTP request to `path` (with its query) at an endpoint's address. */
export async function fetchVia(
  address: string,
  path: string,
  init: FetchViaInit = {},
): Promise<Response> {
  const socketPath = socketPathOf(address);
  if (socketPath === null) return fetch(`http://${address}${path}`, init);
  const method = init.method ?? 'GET';
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const sent = request(
      {
        socketPath,
        path,
        method,
        setHost: false,
        headers: { host: '', ...init.headers },
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      },
      resolve,
    );
    sent.once('error', reject);
    sent.end(init.body);
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const item of [value ?? []].flat()) headers.append(name, item);
  }
  const status = response.statusCode ?? 502;
  const noBody = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  if (noBody) response.resume();
  return new Response(
    noBody ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array> as BodyInit),
    { status, statusText: response.statusMessage ?? '', headers },
  );
}
