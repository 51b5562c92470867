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
 * injected through `faults` (hub-faults.ts), and every request is logged in `requests`. The
 * repositories are folders on disk (hub-repos.ts); routes and answers are in hub-http.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HubFaultQueue, type HubFaults } from './hub-faults.ts';
import {
  finish,
  HubError,
  parseRange,
  parseRoute,
  pathsFromBody,
  readBody,
  sendJson,
  type HubRequest,
} from './hub-http.ts';
import { HubRepos } from './hub-repos.ts';

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

export interface HubServer {
  /** The endpoint, for `HF_ENDPOINT` (no trailing slash). */
  readonly url: string;
  readonly faults: HubFaults;
  /** Every request received, oldest first. */
  readonly requests: readonly HubRequest[];
  close(): Promise<void>;
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const repos = new HubRepos(options.repos, options.revision, options.isLfs);
  const requests: HubRequest[] = [];
  const sockets = new Set<Socket>();
  const pending = new HubFaultQueue();

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

  async function serveFile(
    request: IncomingMessage,
    response: ServerResponse,
    log: HubRequest,
    repo: string,
    commit: string,
    path: string,
  ): Promise<void> {
    const absolute = repos.locate(repo, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      throw new HubError(404, 'EntryNotFound', `Entry not found: ${path}`);
    }
    const facts = await repos.factsOf(absolute, path);
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
    const dropAfter = pending.take(pending.drops, path, (afterBytes) => afterBytes < length);
    const middle = Math.floor(facts.size / 2);
    const corrupt =
      middle >= start && middle <= end && pending.take(pending.corruptions, path) !== undefined;
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
      const failure = pending.take(
        pending.failures,
        route.path,
        (value) => value.kind === undefined || value.kind === route.kind,
      );
      if (failure !== undefined)
        throw new HubError(failure.status, undefined, `Injected failure ${failure.status}`);
      const answer = pending.take(
        pending.answers,
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
      repos.repoDir(repo);
      checkToken(request);
      const commit = repos.commitFor(repo, route.revision ?? 'main');
      switch (route.kind) {
        case 'model-info': {
          const files = await repos.allFiles(repo);
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
            const entry = await repos.entryOf(repo, path);
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
            await repos.listTree(
              repo,
              route.path ?? '',
              url.searchParams.get('recursive') === 'true',
            ),
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
    if (pending.down) {
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

  const faults = pending.controls(() => {
    for (const socket of sockets) socket.destroy();
  });

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
