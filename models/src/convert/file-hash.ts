/**
 * Content hashes of large files (multi-gigabyte checkpoints), remembered by path, size and
 * modification time in a small JSON file so that a restart does not re-read the weights.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface HashProgress {
  readonly file: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

interface HashRecord {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

type HashCacheFile = Record<string, HashRecord>;

/** The sha256 of a file's bytes, as lowercase hex, read in one streaming pass. */
export async function sha256File(
  path: string,
  onProgress?: (progress: HashProgress) => void,
): Promise<string> {
  const { size } = await stat(path);
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * 1024 * 1024 })) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    done += bytes.byteLength;
    onProgress?.({ file: path, bytesDone: done, bytesTotal: size });
  }
  return hash.digest('hex');
}

/**
 * The sha256 of `path`, taken from `cachePath` when the file's size and mtime match what was
 * recorded there, else computed and recorded. The record is rewritten atomically; a record
 * lost to two processes writing at once only costs a recomputation.
 */
export async function cachedSha256(
  path: string,
  cachePath: string,
  onProgress?: (progress: HashProgress) => void,
): Promise<string> {
  const absolute = resolve(path);
  const info = await stat(absolute);
  const records = await readHashCache(cachePath);
  const known = records[absolute];
  if (known !== undefined && known.size === info.size && known.mtimeMs === info.mtimeMs) {
    return known.sha256;
  }
  const sha256 = await sha256File(absolute, onProgress);
  const latest = await readHashCache(cachePath);
  latest[absolute] = { size: info.size, mtimeMs: info.mtimeMs, sha256 };
  await mkdir(dirname(cachePath), { recursive: true });
  const temporary = `${cachePath}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, `${JSON.stringify(latest, null, 2)}\n`);
  await rename(temporary, cachePath);
  return sha256;
}

async function readHashCache(cachePath: string): Promise<HashCacheFile> {
  let text: string;
  try {
    text = await readFile(cachePath, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const records: HashCacheFile = {};
    for (const [file, value] of Object.entries(parsed as Record<string, unknown>)) {
      const record = value as Partial<HashRecord> | null;
      if (
        typeof record?.size === 'number' &&
        typeof record.mtimeMs === 'number' &&
        typeof record.sha256 === 'string'
      ) {
        records[file] = { size: record.size, mtimeMs: record.mtimeMs, sha256: record.sha256 };
      }
    }
    return records;
  } catch {
    // A damaged cache is only a lost optimisation: start again.
    return {};
  }
}
