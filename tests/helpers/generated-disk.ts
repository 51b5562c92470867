/**
 * A folder for generated videos whose disk a test can make read-only or full, for real: a small
 * tmpfs of its own, mounted when the test runs as root with the right to mount (the usual CI
 * container and development machine). Without that, a plain folder: read-only by permissions
 * when not root (root ignores them), and never full. Which one it got is in `kind`, and what it
 * cannot do is in `cannot`, so a test can say what it skipped.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GeneratedDisk {
  readonly path: string;
  readonly kind: 'tmpfs' | 'folder';
  /** Why a fault cannot be made here; absent when it can. */
  readonly cannot: { readonly readOnly?: string; readonly full?: string };
  makeReadOnly(): Promise<void>;
  makeWritable(): Promise<void>;
  /** Fills the disk to the last byte. */
  fill(): Promise<void>;
  /** Frees what `fill` took. */
  unfill(): Promise<void>;
  dispose(): Promise<void>;
}

export async function generatedDisk(path: string, sizeMiB = 128): Promise<GeneratedDisk> {
  await mkdir(path, { recursive: true });
  const mounted = await run('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=${sizeMiB}m,mode=0755`,
    'zeus-test-generated',
    path,
  ]).then(
    () => null,
    (error: unknown) => (error as Error).message,
  );
  const ballast = join(path, '.ballast');
  if (mounted === null) {
    const remount = async (mode: 'ro' | 'rw'): Promise<void> => {
      await run('mount', ['-o', `remount,${mode}`, path]);
    };
    return {
      path,
      kind: 'tmpfs',
      cannot: {},
      makeReadOnly: () => remount('ro'),
      makeWritable: () => remount('rw'),
      fill: async () => {
        // Written, not preallocated, so tmpfs really hands out its pages; stops at ENOSPC.
        const file = await open(ballast, 'w');
        const chunk = Buffer.alloc(1 << 20, 0x5a);
        try {
          for (;;) await file.write(chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        } finally {
          await file.close().catch(() => undefined);
        }
        const { bavail } = await statfs(path);
        if (bavail !== 0) throw new Error(`the disk still has ${bavail} free blocks`);
      },
      unfill: () => rm(ballast, { force: true }),
      dispose: async () => {
        await run('umount', [path]).catch(() => run('umount', ['--lazy', path]));
      },
    };
  }
  const root = process.getuid?.() === 0;
  const noMount = `cannot mount a tmpfs here (${mounted.split('\n')[0] ?? ''})`;
  return {
    path,
    kind: 'folder',
    cannot: {
      full: noMount,
      ...(root ? { readOnly: `${noMount}, and root ignores folder permissions` } : {}),
    },
    makeReadOnly: () => chmod(path, 0o555),
    makeWritable: () => chmod(path, 0o755),
    fill: () => Promise.reject(new Error(noMount)),
    unfill: () => Promise.resolve(),
    dispose: () => Promise.resolve(),
  };
}
