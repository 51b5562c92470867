/**
 * A local server that speaks the part of the Hugging Face Hub API that model downloads use, so
 * tests can download real files without the network: model info, `paths-info`, `tree`, and
 * `/{repo}/resolve/{revision}/{path}` with byte ranges. LFS files are answered as the real Hub
 * answers them: a redirect (to a `/__lfs/` path standing in for the CDN) carrying
 * `X-Linked-Size`, `X-Linked-Etag` and `X-Repo-Commit`, and `paths-info` reports their sha256.
 *
 *   const hub = await startHubServer({ repos: { 'Lightricks/LTX-Video': dir } });
 *   process.env.HF_ENDPOINT = hub.url;
 *   hub.faults.dropConnection({ afterBytes: 1000 });
 *   ...
 *   await hub.close();
 *
 * Faults (dropped connections, error statuses, corrupted bytes, a server that is down) are
 * injected through `faults`, and every request is logged in `requests`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve, sep } from 'node:path';

export interface HubServerOptions {
  /** Repository name ("owner/name") → the directory whose files the repository holds. */
  readonly repos: Readonly<Record<string, string>>;
  /**
   * The commit the repositories are served at: requests for `main` (or `HEAD`) or this commit are
   * answered, any other revision gets `RevisionNotFound`. Left out, every revision is served
   * (a 40-hex revision is reported back as the commit), so the server can stand in for repos
   * pinned to real commits.
   */
  readonly revision?: string;
  /** When set, the repositories are gated: requests without `Authorization: Bearer <token>` get 401. */
  readonly token?: string;
  /**
   * Which files are stored with Git LFS. Default: `*.safetensors`, `*.model`, `*.bin`, `*.pth`,
   * `*.onnx`, `*.gguf` and files over 10 MiB, like the Hub's default `.gitattributes`.
   */
  readonly isLfs?: (path: string, size: number) => boolean;
}

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

interface FaultMatch {
  /** Only requests for this repository file path; every file when left out. */
  readonly path?: string;
  /** How many matching requests get the fault (default 1). */
  readonly times?: number;
}

export interface HubFaults {
  /**
   * The next matching file downloads send `afterBytes` bytes of the body, then cut the
   * connection. Each fault is used up by the first request it affects (a request for fewer
   * bytes, such as a probe of the first byte, passes untouched).
   */
  dropConnection(options: FaultMatch & { readonly afterBytes: number }): void;
  /** The next matching requests (of `kind`, default any) are answered with `status`. */
  failRequests(
    options: FaultMatch & { readonly status: number; readonly kind?: HubRequestKind },
  ): void;
  /** The next matching requests (of `kind`, default any) get this answer instead (odd Hub answers). */
  respondWith(
    options: FaultMatch & {
      readonly kind?: HubRequestKind;
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    },
  ): void;
  /** The next matching file downloads that include the file's middle byte serve it wrong. */
  corruptContent(options?: FaultMatch): void;
  /** While down, every connection is reset as soon as it is made (and open ones are cut). */
  setDown(down: boolean): void;
  /** Removes every pending fault and brings the server up. */
  clear(): void;
}

export interface HubServer {
  /** The endpoint, for `HF_ENDPOINT` (no trailing slash). */
  readonly url: string;
  readonly faults: HubFaults;
  /** Every request received, oldest first. */
  readonly requests: readonly HubRequest[];
  close(): Promise<void>;
}

const DEFAULT_LFS_PATTERN = /\.(safetensors|model|bin|pth|onnx|gguf)$/;
const DEFAULT_LFS_MIN_BYTES = 10 * 1024 * 1024;
const COMMIT_PATTERN = /^[0-9a-f]{40}$/;
/** What the Hub answers as the default branch (model info asks for "HEAD"). */
const DEFAULT_BRANCH_NAMES = new Set(['main', 'HEAD']);

function defaultIsLfs(path: string, size: number): boolean {
  return DEFAULT_LFS_PATTERN.test(path) || size > DEFAULT_LFS_MIN_BYTES;
}

interface FileFacts {
  readonly size: number;
  readonly sha256: string;
  /** Git blob id of the file as committed (the LFS pointer for LFS files). */
  readonly gitOid: string;
  readonly lfs:
    { readonly oid: string; readonly size: number; readonly pointerSize: number } | undefined;
}

interface PendingFault<T> {
  readonly match: FaultMatch;
  remaining: number;
  readonly value: T;
}

class HubError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const repos = new Map(Object.entries(options.repos).map(([name, dir]) => [name, resolve(dir)]));
  const isLfs = options.isLfs ?? defaultIsLfs;
  const requests: HubRequest[] = [];
  const sockets = new Set<Socket>();
  const factsCache = new Map<
    string,
    { mtimeMs: number; size: number; facts: Promise<FileFacts> }
  >();
  const drops: PendingFault<number>[] = [];
  const failures: PendingFault<{ status: number; kind: HubRequestKind | undefined }>[] = [];
  const corruptions: PendingFault<null>[] = [];
  const answers: PendingFault<{
    kind: HubRequestKind | undefined;
    status: number;
    headers: Readonly<Record<string, string>>;
    body: string;
  }>[] = [];
  let down = false;

  function takeFault<T>(
    list: PendingFault<T>[],
    path: string | undefined,
    extra?: (value: T) => boolean,
  ): T | undefined {
    const index = list.findIndex(
      (fault) =>
        (fault.match.path === undefined || fault.match.path === path) &&
        (extra === undefined || extra(fault.value)),
    );
    const fault = list[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) list.splice(index, 1);
    return fault.value;
  }

  async function factsOf(absolute: string, relativePath: string): Promise<FileFacts> {
    const info = await stat(absolute);
    const cached = factsCache.get(absolute);
    if (cached !== undefined && cached.mtimeMs === info.mtimeMs && cached.size === info.size)
      return cached.facts;
    const facts = computeFacts(absolute, info.size, isLfs(relativePath, info.size));
    factsCache.set(absolute, { mtimeMs: info.mtimeMs, size: info.size, facts });
    return facts;
  }

  function repoDir(repo: string): string {
    const dir = repos.get(repo);
    if (dir === undefined) {
      throw new HubError(401, 'RepoNotFound', `Repository Not Found for url: ${repo}.`);
    }
    return dir;
  }

  function commitFor(repo: string, revision: string): string {
    if (options.revision !== undefined) {
      if (!DEFAULT_BRANCH_NAMES.has(revision) && revision !== options.revision) {
        throw new HubError(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      }
      return options.revision;
    }
    if (COMMIT_PATTERN.test(revision)) return revision;
    return createHash('sha1').update(`${repo}@${revision}`).digest('hex');
  }

  /** The absolute path of a file or folder of a repo, refusing paths that leave it. */
  function locate(repo: string, path: string): string {
    const dir = repoDir(repo);
    const absolute = resolve(dir, path);
    if (absolute !== dir && !absolute.startsWith(dir + sep)) {
      throw new HubError(400, undefined, `Invalid path: ${path}`);
    }
    return absolute;
  }

  function checkToken(request: IncomingMessage): void {
    if (options.token === undefined) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      throw new HubError(
        401,
        'GatedRepo',
        'Access to this model is restricted. You must have access to it and be authenticated to access it. Please log in.',
      );
    }
    if (header !== `Bearer ${options.token}`) {
      throw new HubError(401, undefined, 'Invalid credentials in Authorization header');
    }
  }

  async function entryOf(repo: string, path: string): Promise<Record<string, unknown> | undefined> {
    const absolute = locate(repo, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) return undefined;
    if (info.isDirectory()) {
      return {
        type: 'directory',
        oid: createHash('sha1').update(`tree ${repo}/${path}`).digest('hex'),
        size: 0,
        path,
      };
    }
    const facts = await factsOf(absolute, path);
    return {
      type: 'file',
      oid: facts.gitOid,
      size: facts.size,
      path,
      ...(facts.lfs === undefined ? {} : { lfs: facts.lfs }),
    };
  }

  async function listTree(
    repo: string,
    path: string,
    recursive: boolean,
  ): Promise<Record<string, unknown>[]> {
    const absolute = locate(repo, path);
    const names = await readdir(absolute, { withFileTypes: true }).catch(() => {
      throw new HubError(404, 'EntryNotFound', `${path} does not exist`);
    });
    const entries: Record<string, unknown>[] = [];
    for (const dirent of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = path === '' ? dirent.name : `${path}/${dirent.name}`;
      const entry = await entryOf(repo, child);
      if (entry === undefined) continue;
      entries.push(entry);
      if (recursive && dirent.isDirectory()) entries.push(...(await listTree(repo, child, true)));
    }
    return entries;
  }

  async function allFiles(repo: string): Promise<string[]> {
    const entries = await listTree(repo, '', true);
    return entries
      .filter((entry) => entry['type'] === 'file')
      .map((entry) => String(entry['path']));
  }

  async function serveFile(
    request: IncomingMessage,
    response: ServerResponse,
    log: HubRequest,
    repo: string,
    commit: string,
    path: string,
  ): Promise<void> {
    const absolute = locate(repo, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      throw new HubError(404, 'EntryNotFound', `Entry not found: ${path}`);
    }
    const facts = await factsOf(absolute, path);
    const etag = `"${facts.lfs === undefined ? facts.gitOid : facts.sha256}"`;
    response.setHeader('X-Repo-Commit', commit);
    response.setHeader('ETag', etag);
    if (log.kind === 'resolve' && facts.lfs !== undefined) {
      // The real Hub sends LFS files from a CDN; the headers of the redirect describe the file.
      response.setHeader('X-Linked-Size', String(facts.size));
      response.setHeader('X-Linked-Etag', etag);
      response.setHeader('Location', `/__lfs/${repo}/${commit}/${path}`);
      finish(response, log, 302);
      return;
    }
    response.setHeader('Accept-Ranges', 'bytes');
    response.setHeader('Content-Type', 'application/octet-stream');
    const range = parseRange(request.headers.range, facts.size);
    if (range === 'unsatisfiable') {
      response.setHeader('Content-Range', `bytes */${facts.size}`);
      finish(response, log, 416);
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? facts.size - 1;
    const length = Math.max(0, end - start + 1);
    if (range !== undefined)
      response.setHeader('Content-Range', `bytes ${start}-${end}/${facts.size}`);
    response.setHeader('Content-Length', String(length));
    response.statusCode = range === undefined ? 200 : 206;
    log.status = response.statusCode;
    if (request.method === 'HEAD' || length === 0) {
      response.end();
      return;
    }
    // A fault is used up by the first request it affects: not by a probe of the first byte.
    const dropAfter = takeFault(drops, path, (afterBytes) => afterBytes < length);
    const middle = Math.floor(facts.size / 2);
    const corrupt = middle >= start && middle <= end && takeFault(corruptions, path) !== undefined;
    const sendBytes = dropAfter === undefined ? length : Math.min(length, dropAfter);
    let sent = 0;
    const stream = createReadStream(absolute, { start, end: start + sendBytes - 1 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Flip the file's middle byte, so size checks pass and only a hash can tell.
      const at = middle - start - sent;
      if (corrupt && at >= 0 && at < chunk.length) chunk[at] = (chunk[at] ?? 0) ^ 0xff;
      sent += chunk.length;
      if (!response.write(chunk)) await new Promise((done) => response.once('drain', done));
    }
    if (dropAfter !== undefined && sendBytes < length) {
      // Cut the connection once the bytes sent so far have reached the socket.
      delete log.status;
      await new Promise<void>((done) =>
        response.write('', () => {
          done();
        }),
      );
      response.socket?.destroy();
      return;
    }
    response.end();
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://hub.invalid');
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const route = parseRoute(segments);
    const log: HubRequest = {
      method: request.method ?? 'GET',
      kind: route.kind,
      url: request.url ?? '/',
      ...(route.repo === undefined ? {} : { repo: route.repo }),
      ...(route.revision === undefined ? {} : { revision: route.revision }),
      ...(route.path === undefined ? {} : { path: route.path }),
      ...(request.headers.range === undefined ? {} : { range: request.headers.range }),
      ...(request.headers.authorization === undefined
        ? {}
        : { authorization: request.headers.authorization }),
    };
    requests.push(log);
    try {
      const failure = takeFault(
        failures,
        route.path,
        (value) => value.kind === undefined || value.kind === route.kind,
      );
      if (failure !== undefined)
        throw new HubError(failure.status, undefined, `Injected failure ${failure.status}`);
      const answer = takeFault(
        answers,
        route.path,
        (value) => value.kind === undefined || value.kind === route.kind,
      );
      if (answer !== undefined) {
        for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
        response.setHeader('Content-Length', String(Buffer.byteLength(answer.body)));
        finish(response, log, answer.status, answer.body);
        return;
      }
      if (route.kind === 'unknown' || route.repo === undefined) {
        throw new HubError(404, undefined, `Not found: ${url.pathname}`);
      }
      const repo = route.repo;
      repoDir(repo);
      checkToken(request);
      const commit = commitFor(repo, route.revision ?? 'main');
      switch (route.kind) {
        case 'model-info': {
          const files = await allFiles(repo);
          sendJson(response, log, 200, {
            _id: createHash('sha1').update(repo).digest('hex').slice(0, 24),
            id: repo,
            modelId: repo,
            author: repo.split('/')[0],
            sha: commit,
            private: false,
            gated: options.token === undefined ? false : 'manual',
            disabled: false,
            downloads: 0,
            likes: 0,
            tags: [],
            lastModified: new Date(0).toISOString(),
            createdAt: new Date(0).toISOString(),
            siblings: files.map((rfilename) => ({ rfilename })),
          });
          return;
        }
        case 'paths-info': {
          const body = await readBody(request);
          const paths = pathsFromBody(body, request.headers['content-type']);
          const entries = [];
          for (const path of paths) {
            const entry = await entryOf(repo, path);
            if (entry !== undefined) entries.push(entry);
          }
          sendJson(response, log, 200, entries);
          return;
        }
        case 'tree': {
          sendJson(
            response,
            log,
            200,
            await listTree(repo, route.path ?? '', url.searchParams.get('recursive') === 'true'),
          );
          return;
        }
        case 'resolve':
        case 'lfs':
          await serveFile(request, response, log, repo, commit, route.path ?? '');
          return;
      }
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HubError) {
        if (error.errorCode !== undefined) response.setHeader('X-Error-Code', error.errorCode);
        sendJson(response, log, error.status, { error: error.message });
        return;
      }
      sendJson(response, log, 500, {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  server.on('connection', (socket) => {
    if (down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;

  const faults: HubFaults = {
    dropConnection: ({ afterBytes, ...match }) => {
      drops.push({ match, remaining: match.times ?? 1, value: afterBytes });
    },
    failRequests: ({ status, kind, ...match }) => {
      failures.push({ match, remaining: match.times ?? 1, value: { status, kind } });
    },
    respondWith: ({ kind, status, headers = {}, body = '', ...match }) => {
      answers.push({ match, remaining: match.times ?? 1, value: { kind, status, headers, body } });
    },
    corruptContent: (match = {}) => {
      corruptions.push({ match, remaining: match.times ?? 1, value: null });
    },
    setDown: (value) => {
      down = value;
      if (down) for (const socket of sockets) socket.destroy();
    },
    clear: () => {
      drops.length = 0;
      failures.length = 0;
      corruptions.length = 0;
      answers.length = 0;
      down = false;
    },
  };

  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    requests,
    close: async () => {
      const closed = new Promise<void>((done) =>
        server.close(() => {
          done();
        }),
      );
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}

interface Route {
  readonly kind: HubRequestKind;
  readonly repo?: string;
  readonly revision?: string;
  readonly path?: string;
}

/** Maps the URL's path segments to the endpoint and its repository, revision and file path. */
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

/** A single `bytes=` range, as `{ start, end }` (inclusive); undefined when absent or unsupported. */
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

async function computeFacts(path: string, size: number, lfs: boolean): Promise<FileFacts> {
  const sha256 = createHash('sha256');
  const blob = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    sha256.update(chunk);
    if (!lfs) blob.update(chunk);
  }
  const sha256Hex = sha256.digest('hex');
  if (!lfs) return { size, sha256: sha256Hex, gitOid: blob.digest('hex'), lfs: undefined };
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256Hex}\nsize ${size}\n`;
  const pointerSize = Buffer.byteLength(pointer);
  const gitOid = createHash('sha1').update(`blob ${pointerSize}\0${pointer}`).digest('hex');
  return { size, sha256: sha256Hex, gitOid, lfs: { oid: sha256Hex, size, pointerSize } };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** `paths` of a paths-info request: JSON from @huggingface/hub, a form from huggingface_hub. */
function pathsFromBody(body: string, contentType: string | undefined): string[] {
  if (contentType?.includes('application/json') === true) {
    const parsed = JSON.parse(body) as { paths?: unknown };
    const paths = parsed.paths;
    if (Array.isArray(paths)) return paths.map(String);
    return typeof paths === 'string' ? [paths] : [];
  }
  return new URLSearchParams(body).getAll('paths');
}

function sendJson(response: ServerResponse, log: HubRequest, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', String(Buffer.byteLength(text)));
  response.statusCode = status;
  log.status = status;
  response.end(text);
}

function finish(response: ServerResponse, log: HubRequest, status: number, body = ''): void {
  response.statusCode = status;
  log.status = status;
  response.end(body);
}
