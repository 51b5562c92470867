/**
 * A real S3-compatible server for tests: s3rver (an npm devDependency, so `npm install` brings
 * it on any machine), on a free port on 127.0.0.1, keeping its objects in a temporary folder.
 * It speaks S3's REST API over HTTP (SigV4, path-style buckets, range GETs, multipart uploads,
 * presigned URLs), which is what Zeus's S3 store uses.
 */
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's fixed credentials. */
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';

export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The Zeus settings that store outputs in this bucket. */
  readonly env: Readonly<Record<string, string>>;
  /** Where s3rver keeps the objects (`<bucket>/<key>._S3rver_object`). */
  readonly dir: string;
  stop(): Promise<void>;
}

export async function startTestS3(bucket = 'zeus-test'): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    dir,
    env: {
      ZEUS_STORAGE: 's3',
      ZEUS_S3_ENDPOINT: endpoint,
      ZEUS_S3_BUCKET: bucket,
      ZEUS_S3_ACCESS_KEY_ID: ACCESS_KEY_ID,
      ZEUS_S3_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    },
    stop: async () => {
      // Clients keep connections alive: close them, or close() waits for them to go idle.
      (server as unknown as { httpServer: Server }).httpServer.closeAllConnections();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
