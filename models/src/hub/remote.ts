/**
 * What the Hub says about files at a revision (size and content hash), through
 * @huggingface/hub's `paths-info` call, with Hub errors mapped to `HubDownloadError`.
 */
import { HubApiError, pathsInfo } from '@huggingface/hub';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FileDigest } from './digest.ts';
import { HubDownloadError, type HubErrorReason, type HubFileLocation } from './errors.ts';
import type { HubSettings } from './settings.ts';

/** A file of a Hub repository at a pinned revision. */
export interface HubFileRef {
  /** "owner/name". */
  readonly repo: string;
  /** A commit sha (or a branch name). */
  readonly revision: string;
  /** Path in the repository. */
  readonly path: string;
}

export interface RemoteFile extends HubFileRef {
  readonly size: number;
  /** What the bytes must hash to; undefined only when the Hub reports no hash. */
  readonly digest: FileDigest | undefined;
}

/** Failed requests are tried this many times in all before giving up. */
export interface RetryPolicy {
  readonly attempts: number;
  /** Wait before the second try; doubled for each further one. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * A metadata request (`paths-info`) unanswered for this long is given up as unreachable and
   * tried again: a Hub or proxy that accepts connections and never answers must not hang the
   * caller (downloads have their own idle timeout). Default 30 s.
   */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
};

/**
 * Size and hash of each of `paths` in `repo` at `revision`. `destinationOf` names where each
 * file goes locally, for error messages.
 */
export async function fetchRemoteFiles(
  repo: string,
  revision: string,
  paths: readonly string[],
  hub: HubSettings,
  destinationOf: (path: string) => string,
  retry: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (attempt: number, error: HubDownloadError) => void,
): Promise<Map<string, RemoteFile>> {
  const first = paths[0];
  if (first === undefined) return new Map();
  const location = (path: string): HubFileLocation => ({
    repo,
    revision,
    path,
    destination: destinationOf(path),
  });
  const timeoutMs = retry.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const entries = await withRetries(retry, onRetry, async () => {
    try {
      return await pathsInfo({
        repo: { type: 'model', name: repo },
        paths: [...paths],
        revision,
        hubUrl: hub.endpoint,
        ...(hub.token === undefined ? {} : { accessToken: hub.token }),
        fetch: (input, init) =>
          fetch(input, {
            ...init,
            signal: AbortSignal.any([
              ...(init?.signal == null ? [] : [init.signal]),
              AbortSignal.timeout(timeoutMs),
            ]),
          }),
      });
    } catch (error) {
      throw toHubError(error, location(first), hub.endpoint);
    }
  });
  const files = new Map<string, RemoteFile>();
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    const digest: FileDigest | undefined =
      entry.lfs !== undefined
        ? { algorithm: 'sha256', hex: entry.lfs.oid.toLowerCase() }
        : entry.oid !== undefined
          ? { algorithm: 'git-sha1', hex: entry.oid.toLowerCase() }
          : undefined;
    files.set(entry.path, { repo, revision, path: entry.path, size: entry.size, digest });
  }
  for (const path of paths) {
    if (!files.has(path)) {
      throw new HubDownloadError(
        'not-found',
        location(path),
        hub.endpoint,
        'the repository has no such file at this revision',
      );
    }
  }
  return files;
}

/** Maps an error of @huggingface/hub or `fetch` to a `HubDownloadError` about `file`. */
export function toHubError(
  error: unknown,
  file: HubFileLocation,
  endpoint: string,
): HubDownloadError {
  if (error instanceof HubDownloadError) return error;
  if (error instanceof HubApiError) {
    return new HubDownloadError(
      reasonForStatus(error.statusCode),
      file,
      endpoint,
      `HTTP ${error.statusCode}: ${error.message}`,
      {
        cause: error,
      },
    );
  }
  return new HubDownloadError('unreachable', file, endpoint, networkErrorText(error), {
    cause: error,
  });
}

export function reasonForStatus(status: number): HubErrorReason {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not-found';
  return 'server-error';
}

/** "connect ECONNREFUSED 127.0.0.1:9" rather than undici's bare "fetch failed". */
export function networkErrorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    parts.push(current.message);
    current = current.cause;
  }
  if (parts.length === 0) return String(error);
  return parts.filter((part, index) => part !== '' && parts.indexOf(part) === index).join(': ');
}

/**
 * Runs `task` until it succeeds, it fails with an error that retrying cannot fix, or the
 * attempts are spent. `onRetry` hears of each failure that will be retried.
 */
export async function withRetries<T>(
  retry: RetryPolicy,
  onRetry: ((attempt: number, error: HubDownloadError) => void) | undefined,
  task: (attempt: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (!(error instanceof HubDownloadError) || !error.retryable || attempt >= retry.attempts)
        throw error;
      signal?.throwIfAborted();
      onRetry?.(attempt, error);
      const delay = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
      await sleep(delay, undefined, signal === undefined ? {} : { signal });
    }
  }
}
