/**
 * The repositories the local Hub server serves (hub-server.ts): folders on disk, what the Hub
 * reports of each file (size, sha256, git blob id, LFS pointer), and their listings.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { HubError } from './hub-http.ts';

const DEFAULT_LFS_PATTERN = /\.(safetensors|model|bin|pth|onnx|gguf)$/;
const DEFAULT_LFS_MIN_BYTES = 10 * 1024 * 1024;
const COMMIT_PATTERN = /^[0-9a-f]{40}$/;
/** What the Hub answers as the default branch (model info asks for "HEAD"). */
const DEFAULT_BRANCH_NAMES = new Set(['main', 'HEAD']);

function defaultIsLfs(path: string, size: number): boolean {
  return DEFAULT_LFS_PATTERN.test(path) || size > DEFAULT_LFS_MIN_BYTES;
}

export interface FileFacts {
  readonly size: number;
  readonly sha256: string;
  /** Git blob id of the file as committed (the LFS pointer for LFS files). */
  readonly gitOid: string;
  readonly lfs:
    { readonly oid: string; readonly size: number; readonly pointerSize: number } | undefined;
}

/** The repositories by name, each a folder, served at one commit or at any revision asked for. */
export class HubRepos {
  private readonly repos: Map<string, string>;
  private readonly factsCache = new Map<
    string,
    { mtimeMs: number; size: number; facts: Promise<FileFacts> }
  >();

  constructor(
    repos: Readonly<Record<string, string>>,
    private readonly revision: string | undefined,
    private readonly isLfs: (path: string, size: number) => boolean = defaultIsLfs,
  ) {
    this.repos = new Map(Object.entries(repos).map(([name, dir]) => [name, resolve(dir)]));
  }

  async factsOf(absolute: string, relativePath: string): Promise<FileFacts> {
    const info = await stat(absolute);
    const cached = this.factsCache.get(absolute);
    if (cached !== undefined && cached.mtimeMs === info.mtimeMs && cached.size === info.size)
      return cached.facts;
    const facts = computeFacts(absolute, info.size, this.isLfs(relativePath, info.size));
    this.factsCache.set(absolute, { mtimeMs: info.mtimeMs, size: info.size, facts });
    return facts;
  }

  repoDir(repo: string): string {
    const dir = this.repos.get(repo);
    if (dir === undefined) {
      throw new HubError(401, 'RepoNotFound', `Repository Not Found for url: ${repo}.`);
    }
    return dir;
  }

  commitFor(repo: string, revision: string): string {
    if (this.revision !== undefined) {
      if (!DEFAULT_BRANCH_NAMES.has(revision) && revision !== this.revision) {
        throw new HubError(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      }
      return this.revision;
    }
    if (COMMIT_PATTERN.test(revision)) return revision;
    return createHash('sha1').update(`${repo}@${revision}`).digest('hex');
  }

  /** The absolute path of a file or folder of a repo, refusing paths that leave it. */
  locate(repo: string, path: string): string {
    const dir = this.repoDir(repo);
    const absolute = resolve(dir, path);
    if (absolute !== dir && !absolute.startsWith(dir + sep)) {
      throw new HubError(400, undefined, `Invalid path: ${path}`);
    }
    return absolute;
  }

  async entryOf(repo: string, path: string): Promise<Record<string, unknown> | undefined> {
    const absolute = this.locate(repo, path);
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
    const facts = await this.factsOf(absolute, path);
    return {
      type: 'file',
      oid: facts.gitOid,
      size: facts.size,
      path,
      ...(facts.lfs === undefined ? {} : { lfs: facts.lfs }),
    };
  }

  async listTree(
    repo: string,
    path: string,
    recursive: boolean,
  ): Promise<Record<string, unknown>[]> {
    const absolute = this.locate(repo, path);
    const names = await readdir(absolute, { withFileTypes: true }).catch(() => {
      throw new HubError(404, 'EntryNotFound', `${path} does not exist`);
    });
    const entries: Record<string, unknown>[] = [];
    for (const dirent of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = path === '' ? dirent.name : `${path}/${dirent.name}`;
      const entry = await this.entryOf(repo, child);
      if (entry === undefined) continue;
      entries.push(entry);
      if (recursive && dirent.isDirectory())
        entries.push(...(await this.listTree(repo, child, true)));
    }
    return entries;
  }

  async allFiles(repo: string): Promise<string[]> {
    const entries = await this.listTree(repo, '', true);
    return entries
      .filter((entry) => entry['type'] === 'file')
      .map((entry) => String(entry['path']));
  }
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
