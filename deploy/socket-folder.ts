/** The folder of the local stack's Unix sockets (local-stack.ts). */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SOCKET_PATH_BYTES } from '@zeus/core';

/**
 * Where the stack's sockets go: `<dataDir>/run/`, private to its owner. A Unix socket's path
 * has at most 107 bytes: when the data folder is too deep for that, a new private folder under
 * the system's temporary folder, removed when the stack stops (and said in `notices`).
 */
export async function socketFolder(
  dataDir: string,
  apiServers: number,
  workers: number,
): Promise<{ dir: string; temporary: boolean; notices: string[] }> {
  // The longest name in it.
  const longest = `${['caddy-admin', `api-${apiServers}`, `worker-${workers}`].reduce((a, b) =>
    a.length >= b.length ? a : b,
  )}.sock`;
  const fits = (dir: string): boolean =>
    Buffer.byteLength(join(dir, longest)) <= MAX_SOCKET_PATH_BYTES;
  const dir = join(dataDir, 'run');
  if (fits(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return { dir, temporary: false, notices: [] };
  }
  // mkdtemp makes it readable and writable by its owner only.
  const temporary = await mkdtemp(join(tmpdir(), 'zeus-'));
  if (!fits(temporary)) {
    await rm(temporary, { recursive: true, force: true });
    throw new Error(
      `No folder for the stack's Unix sockets: ${join(dir, longest)} and ` +
        `${join(temporary, longest)} are longer than ${MAX_SOCKET_PATH_BYTES} bytes. Set ` +
        `ZEUS_DATA_DIR or TMPDIR to a shorter path.`,
    );
  }
  return {
    dir: temporary,
    temporary: true,
    notices: [
      `The stack's Unix sockets are in ${temporary}/: under ${dir}/ their paths would be ` +
        `longer than the ${MAX_SOCKET_PATH_BYTES} bytes a socket's path may have.`,
    ],
  };
}
