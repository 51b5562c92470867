/**
 * The content hashes the Hub reports for files: the sha256 of an LFS file's bytes (`lfs.oid`),
 * or the Git blob id of a regular file (`oid`: sha1 of "blob <size>\0" + bytes). Either one
 * identifies the exact bytes, so every downloaded file can be checked against what the Hub
 * says it serves, whatever the file is.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface FileDigest {
  readonly algorithm: 'sha256' | 'git-sha1';
  /** Lower-case hex. */
  readonly hex: string;
}

/** An incremental hash for `digest`'s algorithm over a file of `size` bytes. */
export function startDigest(algorithm: FileDigest['algorithm'], size: number): Hash {
  if (algorithm === 'sha256') return createHash('sha256');
  return createHash('sha1').update(`blob ${size}\0`);
}

const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Feeds the first `length` bytes of a file into `hash`, reporting progress; the digest of a
 * whole file when given a fresh hash and the file's size.
 */
export async function hashFilePrefix(
  path: string,
  hash: Hash,
  length: number,
  onProgress?: (bytes: number) => void,
): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(READ_CHUNK_BYTES, Math.max(length, 1)));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(
        buffer,
        0,
        Math.min(buffer.length, length - done),
        done,
      );
      if (bytesRead === 0) throw new Error(`${path} ended after ${done} of ${length} bytes`);
      hash.update(buffer.subarray(0, bytesRead));
      done += bytesRead;
      onProgress?.(done);
    }
  } finally {
    await handle.close();
  }
}

/** The digest of a whole file. */
export async function digestFile(
  path: string,
  algorithm: FileDigest['algorithm'],
  size: number,
  onProgress?: (bytes: number) => void,
): Promise<FileDigest> {
  const hash = startDigest(algorithm, size);
  await hashFilePrefix(path, hash, size, onProgress);
  return { algorithm, hex: hash.digest('hex') };
}
