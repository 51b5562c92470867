/**
 * Downloads one file from the Hub: resumable, verified and atomic.
 *
 * Bytes go to `<destination>.part`; a `.part` left by an earlier run is continued with an HTTP
 * Range request, and a transfer cut halfway is resumed the same way. The finished file must have
 * the size and hash the Hub reports (`RemoteFile`), and only then is it renamed to its name, so
 * a file under its final name is always whole. @huggingface/hub resolves the download URL
 * (following the Hub's redirects to its CDN); the transfer itself is plain `fetch`, because the
 * library has no resumable download to disk.
 */
import { fileDownloadInfo, InvalidApiResponseFormatError } from '@huggingface/hub';
import type { Hash } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { hashFilePrefix, startDigest } from './digest.ts';
import { HubDownloadError, type HubFileLocation } from './errors.ts';
import {
  DEFAULT_RETRY,
  networkErrorText,
  reasonForStatus,
  toHubError,
  withRetries,
  type RemoteFile,
  type RetryPolicy,
} from './remote.ts';
import type { HubSettings } from './settings.ts';

/** Progress of one download, as events (a CLI renders them as a progress bar). */
export type DownloadEvent =
  | {
      readonly type: 'download-start';
      readonly file: string;
      readonly totalBytes: number;
      /** Bytes already on disk from an earlier, interrupted download. */
      readonly resumeFrom: number;
    }
  | {
      readonly type: 'download-progress';
      readonly file: string;
      readonly receivedBytes: number;
      readonly totalBytes: number;
    }
  | {
      readonly type: 'download-retry';
      readonly file: string;
      /** The attempt that failed (1 = the first). */
      readonly attempt: number;
      readonly error: string;
    }
  | { readonly type: 'download-done'; readonly file: string; readonly totalBytes: number };

export interface DownloadOptions {
  readonly hub: HubSettings;
  /** The file's name in events (default: its path in the repository). */
  readonly label?: string;
  readonly onEvent?: (event: DownloadEvent) => void;
  readonly signal?: AbortSignal;
  readonly retry?: RetryPolicy;
  /** A transfer that receives nothing for this long is cut and resumed (default 60 s). */
  readonly idleTimeoutMs?: number;
}

/** At most this often a progress event per file, besides the last one. */
const PROGRESS_INTERVAL_MS = 100;

const inFlight = new Map<string, Promise<void>>();

/**
 * Downloads `file` to `destination`. Calls for a destination already being downloaded in this
 * process share that download (and only the first caller gets its events).
 */
export function downloadHubFile(
  file: RemoteFile,
  destination: string,
  options: DownloadOptions,
): Promise<void> {
  const key = resolve(destination);
  const running = inFlight.get(key);
  if (running !== undefined) return running;
  const download = downloadOnce(file, key, options, true).finally(() => inFlight.delete(key));
  inFlight.set(key, download);
  return download;
}

/** What has been written to the `.part` file so far, and its hash. */
interface PartState {
  readonly handle: FileHandle;
  hash: Hash;
  bytes: number;
}

async function downloadOnce(
  file: RemoteFile,
  destination: string,
  options: DownloadOptions,
  mayRestart: boolean,
): Promise<void> {
  const location: HubFileLocation = {
    repo: file.repo,
    revision: file.revision,
    path: file.path,
    destination,
  };
  const label = options.label ?? file.path;
  const emit = options.onEvent ?? (() => undefined);
  const part = `${destination}.part`;
  const algorithm = file.digest?.algorithm ?? 'sha256';
  const localError = (error: unknown) =>
    new HubDownloadError('local-io', location, options.hub.endpoint, networkErrorText(error), {
      cause: error,
    });

  let handle: FileHandle;
  try {
    await mkdir(dirname(destination), { recursive: true });
    // Append mode: a part left by an earlier run is continued, never overwritten.
    handle = await open(part, 'a+');
  } catch (error) {
    throw localError(error);
  }
  let closed = false;
  try {
    let existing = (await handle.stat()).size;
    if (existing > file.size) {
      await handle.truncate(0);
      existing = 0;
    }
    const state: PartState = { handle, hash: startDigest(algorithm, file.size), bytes: existing };
    if (existing > 0) await hashFilePrefix(part, state.hash, existing);
    emit({ type: 'download-start', file: label, totalBytes: file.size, resumeFrom: existing });
    await withRetries(
      options.retry ?? DEFAULT_RETRY,
      (attempt, error) => {
        emit({ type: 'download-retry', file: label, attempt, error: error.detail });
      },
      () => transfer(file, state, location, options, label, emit, localError),
      options.signal,
    );
    const actual = state.hash.digest('hex');
    if (file.digest !== undefined && actual !== file.digest.hex) {
      await handle.close();
      closed = true;
      await rm(part, { force: true });
      // A part left by an earlier run may hold another version's bytes: start once from zero.
      if (mayRestart && existing > 0) {
        await downloadOnce(file, destination, options, false);
        return;
      }
      throw new HubDownloadError(
        'verification-failed',
        location,
        options.hub.endpoint,
        `its ${file.digest.algorithm} is ${actual}, the Hub reports ${file.digest.hex}`,
      );
    }
    try {
      await handle.sync();
      await handle.close();
      closed = true;
      await rename(part, destination);
    } catch (error) {
      throw localError(error);
    }
    emit({ type: 'download-done', file: label, totalBytes: file.size });
  } finally {
    if (!closed) await handle.close();
  }
}

/** One HTTP transfer of the bytes still missing; throws a retryable error when cut short. */
async function transfer(
  file: RemoteFile,
  state: PartState,
  location: HubFileLocation,
  options: DownloadOptions,
  label: string,
  emit: (event: DownloadEvent) => void,
  localError: (error: unknown) => HubDownloadError,
): Promise<void> {
  if (state.bytes === file.size) return;
  const { hub, signal } = options;
  const fail = (reason: HubDownloadError['reason'], detail: string, cause?: unknown) =>
    new HubDownloadError(
      reason,
      location,
      hub.endpoint,
      detail,
      cause === undefined ? {} : { cause },
    );

  const url = await resolveUrl(file, location, hub);

  const idle = new AbortController();
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const timer = setTimeout(() => {
    idle.abort(new Error(`no data received for ${idleTimeoutMs} ms`));
  }, idleTimeoutMs);
  const requestSignal = signal === undefined ? idle.signal : AbortSignal.any([signal, idle.signal]);
  try {
    const headers: Record<string, string> = {};
    if (state.bytes > 0) headers['Range'] = `bytes=${state.bytes}-`;
    // The token goes to the Hub only, never to a CDN the Hub redirected to.
    if (hub.token !== undefined && new URL(url).origin === new URL(hub.endpoint).origin) {
      headers['Authorization'] = `Bearer ${hub.token}`;
    }
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: requestSignal });
    } catch (error) {
      signal?.throwIfAborted();
      throw fail(
        'unreachable',
        networkErrorText(idle.signal.aborted ? idle.signal.reason : error),
        error,
      );
    }
    if (response.status === 416) {
      await restart(state, file);
      throw fail('server-error', `HTTP 416: the Hub refused to resume from byte ${state.bytes}`);
    }
    if (!response.ok || response.body === null) {
      const text = await response.text().catch(() => '');
      throw fail(
        reasonForStatus(response.status),
        `HTTP ${response.status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`,
      );
    }
    if (response.status === 200 && state.bytes > 0) {
      // The server ignored the Range header and sends the whole file.
      await restart(state, file);
    } else if (response.status === 206) {
      const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (start === undefined || Number(start) !== state.bytes) {
        await response.body.cancel();
        await restart(state, file);
        throw fail(
          'server-error',
          `asked for bytes from ${state.bytes}, got Content-Range ${String(response.headers.get('content-range'))}`,
        );
      }
    }

    const reader = response.body.getReader();
    let lastEvent = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        signal?.throwIfAborted();
        const why: unknown = idle.signal.aborted ? idle.signal.reason : error;
        throw fail(
          'unreachable',
          `connection lost after ${state.bytes} of ${file.size} bytes (${networkErrorText(why)})`,
          error,
        );
      }
      if (chunk.done) break;
      timer.refresh();
      if (state.bytes + chunk.value.byteLength > file.size) {
        await reader.cancel();
        await restart(state, file);
        throw fail(
          'verification-failed',
          `the Hub sent more than the ${file.size} bytes it describes`,
        );
      }
      try {
        await state.handle.write(chunk.value);
      } catch (error) {
        throw localError(error);
      }
      state.hash.update(chunk.value);
      state.bytes += chunk.value.byteLength;
      const now = performance.now();
      if (now - lastEvent >= PROGRESS_INTERVAL_MS || state.bytes === file.size) {
        lastEvent = now;
        emit({
          type: 'download-progress',
          file: label,
          receivedBytes: state.bytes,
          totalBytes: file.size,
        });
      }
    }
    if (state.bytes < file.size) {
      throw fail('unreachable', `connection closed after ${state.bytes} of ${file.size} bytes`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The URL to download from, resolved by @huggingface/hub (following the Hub's redirects) on
 * every attempt, since CDN URLs are signed and expire. Should the library not understand the
 * Hub's answer (its format for Xet-stored files changes now and then), the plain `resolve` URL
 * still serves the bytes.
 */
async function resolveUrl(
  file: RemoteFile,
  location: HubFileLocation,
  hub: HubSettings,
): Promise<string> {
  let info;
  try {
    info = await fileDownloadInfo({
      repo: { type: 'model', name: file.repo },
      path: file.path,
      revision: file.revision,
      hubUrl: hub.endpoint,
      ...(hub.token === undefined ? {} : { accessToken: hub.token }),
    });
  } catch (error) {
    if (error instanceof InvalidApiResponseFormatError) {
      return `${hub.endpoint}/${file.repo}/resolve/${encodeURIComponent(file.revision)}/${file.path}`;
    }
    throw toHubError(error, location, hub.endpoint);
  }
  const fail = (reason: HubDownloadError['reason'], detail: string) =>
    new HubDownloadError(reason, location, hub.endpoint, detail);
  if (info === null) throw fail('not-found', 'the repository has no such file at this revision');
  if (info.size !== file.size) {
    throw fail(
      'verification-failed',
      `the Hub serves ${info.size} bytes but describes the file as ${file.size} bytes`,
    );
  }
  return info.url;
}

/** Throws away the partial bytes: the next transfer starts from zero. */
async function restart(state: PartState, file: RemoteFile): Promise<void> {
  await state.handle.truncate(0);
  state.hash = startDigest(file.digest?.algorithm ?? 'sha256', file.size);
  state.bytes = 0;
}
