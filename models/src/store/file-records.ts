/**
 * `.zeus-files.json` of one model directory: what was verified of each file (its source, size,
 * modification time and hash), so a file unchanged since is trusted without reading it again.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileDigest } from '../hub/digest.ts';

const RECORDS_FILE = '.zeus-files.json';

interface FileRecord {
  /** Where the bytes came from, e.g. "hub:Lightricks/LTX-Video@<sha>:<path>". */
  readonly source: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly digest: FileDigest | null;
}

interface RecordsFile {
  readonly version: 1;
  readonly files: Record<string, FileRecord>;
}

/** `.zeus-files.json` of one model directory; updates are written one at a time, atomically. */
export class FileRecords {
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly files: Record<string, FileRecord>,
  ) {}

  static async load(dir: string): Promise<FileRecords> {
    try {
      const parsed = JSON.parse(
        await readFile(join(dir, RECORDS_FILE), 'utf8'),
      ) as Partial<RecordsFile>;
      if (parsed.version === 1 && typeof parsed.files === 'object') {
        return new FileRecords(dir, { ...parsed.files });
      }
    } catch {
      // Missing or unreadable: every file is checked again.
    }
    return new FileRecords(dir, {});
  }

  /** True when `target` was recorded from `source` and is unchanged on disk since. */
  async isCurrent(target: string, source: string): Promise<boolean> {
    const record = this.files[target];
    if (record?.source !== source) return false;
    const info = await stat(join(this.dir, target)).catch(() => undefined);
    return (
      info !== undefined &&
      info.isFile() &&
      info.size === record.size &&
      info.mtimeMs === record.mtimeMs
    );
  }

  async record(target: string, source: string, digest: FileDigest | null): Promise<void> {
    const info = await stat(join(this.dir, target));
    this.files[target] = { source, size: info.size, mtimeMs: info.mtimeMs, digest };
    const write = this.writes.then(() => this.save());
    this.writes = write.catch(() => undefined);
    await write;
  }

  private async save(): Promise<void> {
    const path = join(this.dir, RECORDS_FILE);
    const temporary = `${path}.${randomUUID()}.tmp`;
    const sorted = Object.fromEntries(
      Object.entries(this.files).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    await writeFile(
      temporary,
      `${JSON.stringify({ version: 1, files: sorted } satisfies RecordsFile, null, 2)}\n`,
    );
    await rename(temporary, path);
  }
}
