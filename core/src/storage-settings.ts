/**
 * Where outputs are stored (`ZEUS_STORAGE` and the `ZEUS_S3_*` settings), read by workers (which
 * write outputs) and API servers (which serve them from a bucket), and the one place a store is
 * opened from them.
 */
import { z, type RefinementCtx } from 'zod';
import { integerVariable } from './settings.ts';
import { LocalOutputStore } from './local-output-store.ts';
import type { OutputStore } from './output-store.ts';

export const STORAGE_KINDS = ['local', 's3'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

/**
 * How API servers answer `/generated/<id>/<name>` for outputs in a bucket: `redirect` to a
 * presigned (or public) bucket URL, on which the browser makes its range requests itself, or
 * `proxy`: stream the bytes through the API server, for buckets browsers cannot reach.
 */
export const S3_DELIVERIES = ['redirect', 'proxy'] as const;
export type S3Delivery = (typeof S3_DELIVERIES)[number];

const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^https?:\/\/[^\s/?#]+[^\s?#]*$/, `must be an http:// or https:// URL (${what})`);

/** On or off, unset allowed (`booleanVariable` always has a value). */
const optionalBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => /^(true|false|on|off|yes|no|1|0)$/.test(value), {
    error: 'must be true or false (or on/off, yes/no, 1/0)',
  })
  .transform((value) => /^(true|on|yes|1)$/.test(value))
  .optional();

export const storageSettings = {
  /** `local`: the `generated/` folder (one machine, or a shared volume); `s3`: a bucket. */
  ZEUS_STORAGE: z.enum(STORAGE_KINDS).default('local'),
  /** The S3-compatible server (MinIO, Ceph, R2…); unset for AWS S3 itself. */
  ZEUS_S3_ENDPOINT: httpUrl('the object store').optional(),
  /** The bucket outputs go to (it must exist). */
  ZEUS_S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be a bucket name: 3 to 63 lowercase letters, digits, "." and "-"',
    )
    .optional(),
  /** The bucket's region (MinIO and most S3-compatible servers accept the default). */
  ZEUS_S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, 'must be a region name such as eu-west-1')
    .default('us-east-1'),
  /** Folders in front of every key, ending in "/" (`zeus/`), to share a bucket; none by default. */
  ZEUS_S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_.-]+\/)*$/, 'must be folder names, each ending with "/" (zeus/)')
    .default(''),
  /**
   * Path-style requests (`<endpoint>/<bucket>/<key>`). Default: on when ZEUS_S3_ENDPOINT is set
   * (MinIO and most servers need it), off for AWS S3 (virtual-hosted style).
   */
  ZEUS_S3_FORCE_PATH_STYLE: optionalBoolean,
  /** Credentials; unset: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or an IAM role. */
  ZEUS_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  ZEUS_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /**
   * Base URL of a public bucket (or a CDN in front of it): outputs are linked there, unsigned.
   * Unset: presigned URLs that work for ZEUS_S3_URL_EXPIRY seconds.
   */
  ZEUS_S3_PUBLIC_URL: httpUrl('a public bucket or CDN').optional(),
  /** Seconds a presigned URL works (60 s to 7 days, S3's most). */
  ZEUS_S3_URL_EXPIRY: integerVariable({ min: 60, max: 604_800 }, 3_600),
  /** How API servers answer `/generated/…` for outputs in the bucket (see S3_DELIVERIES). */
  ZEUS_S3_DELIVERY: z.enum(S3_DELIVERIES).default('redirect'),
};

const storageObject = z.object(storageSettings);
export type StorageConfig = z.infer<typeof storageObject>;

/** What the storage settings need of each other; for the environment schema's `superRefine`. */
export function checkStorageSettings(config: StorageConfig, context: RefinementCtx): void {
  const problem = (variable: keyof StorageConfig, message: string): void => {
    context.addIssue({ code: 'custom', path: [variable], message });
  };
  if (config.ZEUS_STORAGE === 's3' && config.ZEUS_S3_BUCKET === undefined) {
    problem('ZEUS_S3_BUCKET', 'is needed with ZEUS_STORAGE=s3');
  }
  if (
    (config.ZEUS_S3_ACCESS_KEY_ID === undefined) !==
    (config.ZEUS_S3_SECRET_ACCESS_KEY === undefined)
  ) {
    problem(
      config.ZEUS_S3_ACCESS_KEY_ID === undefined
        ? 'ZEUS_S3_ACCESS_KEY_ID'
        : 'ZEUS_S3_SECRET_ACCESS_KEY',
      'must be set together with ' +
        (config.ZEUS_S3_ACCESS_KEY_ID === undefined
          ? 'ZEUS_S3_SECRET_ACCESS_KEY'
          : 'ZEUS_S3_ACCESS_KEY_ID'),
    );
  }
}

/** The storage settings alone, checked together (for tools and tests). */
export const storageEnvironment = storageObject.superRefine(checkStorageSettings);

/**
 * Opens the configured store: the local folder `generatedDir` (which only the processes that
 * use it, the workers, know), or the bucket (the AWS SDK is loaded only then).
 */
export async function openOutputStore(
  config: StorageConfig,
  generatedDir?: string,
): Promise<OutputStore> {
  if (config.ZEUS_STORAGE === 'local') {
    if (generatedDir === undefined) throw new Error('The local store needs its folder.');
    return new LocalOutputStore(generatedDir);
  }
  const bucket = config.ZEUS_S3_BUCKET;
  if (bucket === undefined) throw new Error('ZEUS_S3_BUCKET is needed with ZEUS_STORAGE=s3.');
  const { S3OutputStore } = await import('./s3-output-store.ts');
  return new S3OutputStore({
    bucket,
    endpoint: config.ZEUS_S3_ENDPOINT,
    region: config.ZEUS_S3_REGION,
    forcePathStyle: config.ZEUS_S3_FORCE_PATH_STYLE ?? config.ZEUS_S3_ENDPOINT !== undefined,
    prefix: config.ZEUS_S3_PREFIX,
    ...(config.ZEUS_S3_ACCESS_KEY_ID === undefined || config.ZEUS_S3_SECRET_ACCESS_KEY === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: config.ZEUS_S3_ACCESS_KEY_ID,
            secretAccessKey: config.ZEUS_S3_SECRET_ACCESS_KEY,
          },
        }),
    publicUrl: config.ZEUS_S3_PUBLIC_URL,
    urlExpirySeconds: config.ZEUS_S3_URL_EXPIRY,
  });
}
