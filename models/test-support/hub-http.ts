/**
 * The HTTP side of the local Hub server (hub-server.ts): which endpoint a URL names, byte ranges,
 * request bodies, answers, and the log entry of each request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HubRequestKind = 'model-info' | 'paths-info' | 'tree' | 'resolve' | 'lfs' | 'unknown';

export interface HubRequest {
  readonly method: string;
  readonly kind: HubRequestKind;
  readonly url: string;
  readonly repo?: string;
  readonly revision?: string;
  /** The file or folder asked for, relative to the repository. */
  readonly path?: string;
  /** The `Range` header, if any. */
  readonly range?: string;
  /** The `Authorization` header, if any. */
  readonly authorization?: string;
  /** The status answered; absent while the answer is under way or when the connection was cut. */
  status?: number;
}

/** An answer of the Hub's own kind: a status, maybe an `X-Error-Code`, a JSON message. */
export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface Route {
  readonly kind: HubRequestKind;
  readonly repo?: string;
  readonly revision?: string;
  readonly path?: string;
}

export /** Maps the URL's path segments to the endpoint and its repository, revision and file path. */
function parseRoute(segments: readonly string[]): Route {
  const [first, second, third, fourth, fifth, sixth, ...rest] = segments;
  if (first === 'api' && second === 'models' && third !== undefined && fourth !== undefined) {
    const repo = `${third}/${fourth}`;
    if (fifth === 'revision' && sixth !== undefined)
      return { kind: 'model-info', repo, revision: sixth };
    if (fifth === 'paths-info' && sixth !== undefined)
      return { kind: 'paths-info', repo, revision: sixth };
    if (fifth === 'tree' && sixth !== undefined)
      return { kind: 'tree', repo, revision: sixth, path: rest.join('/') };
    return { kind: 'unknown', repo };
  }
  if (
    first === '__lfs' &&
    second !== undefined &&
    third !== undefined &&
    fourth !== undefined &&
    fifth !== undefined
  ) {
    const path = [fifth, ...(sixth === undefined ? [] : [sixth]), ...rest].join('/');
    return { kind: 'lfs', repo: `${second}/${third}`, revision: fourth, path };
  }
  if (
    first !== undefined &&
    second !== undefined &&
    third === 'resolve' &&
    fourth !== undefined &&
    fifth !== undefined
  ) {
    return {
      kind: 'resolve',
      repo: `${first}/${second}`,
      revision: fourth,
      path: [fifth, ...(sixth === undefined ? [] : [sixth]), ...rest].join('/'),
    };
  }
  return { kind: 'unknown' };
}

export /** A single `bytes=` range, as `{ start, end }` (inclusive); undefined when absent or unsupported. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  if (start >= size) return 'unsatisfiable';
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (end < start) return undefined;
  return { start, end };
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export /** `paths` of a paths-info request: JSON from @huggingface/hub, a form from huggingface_hub. */
function pathsFromBody(body: string, contentType: string | undefined): string[] {
  if (contentType?.includes('application/json') === true) {
    const parsed = JSON.parse(body) as { paths?: unknown };
    const paths = parsed.paths;
    if (Array.isArray(paths)) return paths.map(String);
    return typeof paths === 'string' ? [paths] : [];
  }
  return new URLSearchParams(body).getAll('paths');
}

export function sendJson(
  response: ServerResponse,
  log: HubRequest,
  status: number,
  body: unknown,
): void {
  const text = JSON.stringify(body);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', String(Buffer.byteLength(text)));
  response.statusCode = status;
  log.status = status;
  response.end(text);
}

export function finish(response: ServerResponse, log: HubRequest, status: number, body = ''): void {
  response.statusCode = status;
  log.status = status;
  response.end(body);
}
