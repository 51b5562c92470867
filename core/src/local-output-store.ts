/**
 * Outputs in a local folder (`ZEUS_GENERATED_DIR`, default `generated/`): `<job-id>/<name>`,
 * served by Caddy's file server at `/generated/…`. Files are written under a hidden temporary
 * name (Caddy hides dot files) and renamed into place, so a reader sees all of a file or none.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  jobOutputsFolder,
  outputKey,
  outputPath,
  resolveRange,
  outputContentType,
  StorageError,
  type OutputObject,
  type OutputRead,
  type OutputStore,
  type RangeRequest,
} from './output-store.ts';

/** File-system error codes, in words users understand. */
const FILE_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'Zeus may not write to the video folder',
  EPERM: 'Zeus may not write to the video folder',
  EROFS: 'the video folder is read-only',
  EIO: 'the disk reported an error',
  ENOTDIR: 'the video folder is not a folder',
  ENOENT: 'the video folder does not exist',
};

export class LocalOutputStore implements OutputStore {
  readonly kind = 'local';
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  stagingDirectory(jobId: string): string {
    return this.jobDirectory(jobId);
  }

  async publishFile(
    jobId: string,
    name: string,
    localPath: string,
    _contentType: string,
  ): Promise<void> {
    const target = this.pathOf(jobId, name);
    if (resolve(localPath) === target) return;
    await this.guard(`save ${name}`, async () => {
      await mkdir(dirname(target), { recursive: true });
      await syncFile(localPath);
      await rename(localPath, target);
    });
  }

  releaseStaging(jobId: string): Promise<void> {
    jobOutputsFolder(jobId);
    return Promise.resolve();
  }

  async putBytes(
    jobId: string,
    name: string,
    bytes: Uint8Array,
    _contentType: string,
  ): Promise<void> {
    const target = this.pathOf(jobId, name);
    const temporary = join(dirname(target), `.${name}.${randomUUID()}.partial`);
    await this.guard(`save ${name}`, async () => {
      await mkdir(dirname(target), { recursive: true });
      try {
        await writeFile(temporary, bytes);
        await rename(temporary, target);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    });
  }

  async stat(jobId: string, name: string): Promise<OutputObject | null> {
    try {
      const info = await stat(this.pathOf(jobId, name));
      if (!info.isFile()) return null;
      return {
        size: info.size,
        contentType: outputContentType(name),
        etag: `"${info.mtimeMs.toString(36)}-${info.size.toString(36)}"`,
        lastModified: info.mtime,
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw this.failure(`read ${name}`, error);
    }
  }

  async read(jobId: string, name: string, request?: RangeRequest): Promise<OutputRead | null> {
    const info = await this.stat(jobId, name);
    if (info === null) return null;
    const range = request === undefined ? null : resolveRange(request, info.size);
    const body = createReadStream(
      this.pathOf(jobId, name),
      range === null ? {} : { start: range.start, end: range.end },
    );
    return { ...info, body, range };
  }

  async deleteJob(jobId: string): Promise<void> {
    await this.guard('remove the outputs', () =>
      rm(this.jobDirectory(jobId), { recursive: true, force: true }),
    );
  }

  deliveryUrl(jobId: string, name: string): Promise<string> {
    return Promise.resolve(outputPath(jobId, name));
  }

  async check(): Promise<void> {
    await this.guard('use the video folder', async () => {
      await mkdir(this.root, { recursive: true }).catch((error: unknown) => {
        // A file in its place: said below.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      });
      const info = await stat(this.root);
      if (!info.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private jobDirectory(jobId: string): string {
    return join(this.root, jobOutputsFolder(jobId));
  }

  private pathOf(jobId: string, name: string): string {
    return join(this.root, ...outputKey(jobId, name).split('/'));
  }

  private async guard<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  private failure(what: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const code = (error as NodeJS.ErrnoException | null)?.code;
    const problem =
      (code === undefined ? undefined : FILE_PROBLEMS[code]) ?? 'the file system failed';
    return new StorageError(`Could not ${what}: ${problem}.`, error);
  }
}

/** Durable before visible: a crash after the rename must not leave a truncated file. */
async function syncFile(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}
