/**
 * What the worker's heartbeat says while it gets its model ready (pure): download progress
 * from the model store's events, conversion and loading from the pipeline's, and for a failure
 * a sentence for users (no local paths) with what to do and when the worker tries again.
 */
import type { ModelStatus } from '@zeus/core';
import { formatBytes, HubDownloadError, type ModelFilesEvent } from '@zeus/models';
import type { ModelLoadProgress } from '../ltx/pipeline-types.ts';
import { SessionError } from '../onnx/runtime.ts';

/** Turns the model store's events into DOWNLOADING statuses (bytes over every planned file). */
export class DownloadStatus {
  private readonly files = new Map<string, { total: number; done: number }>();
  private generating = false;

  /** The status after `event`, or undefined when it changes nothing worth saying. */
  update(event: ModelFilesEvent): ModelStatus | undefined {
    switch (event.type) {
      case 'plan':
        for (const { file, bytes } of event.files) this.files.set(file, { total: bytes, done: 0 });
        return this.status();
      case 'download-start':
      case 'download-progress': {
        const entry = this.files.get(event.file);
        if (entry === undefined) return undefined;
        entry.done = event.type === 'download-start' ? event.resumeFrom : event.receivedBytes;
        return this.status();
      }
      case 'download-done': {
        const entry = this.files.get(event.file);
        if (entry !== undefined) entry.done = entry.total;
        return this.status();
      }
      case 'verify-progress':
        return {
          state: 'DOWNLOADING',
          message: `Checking ${event.file} against the Hub's hash.`,
          progress: event.totalBytes > 0 ? event.checkedBytes / event.totalBytes : null,
        };
      case 'waiting':
        return {
          state: 'DOWNLOADING',
          message: 'Waiting for another worker that is getting the same model files.',
          progress: null,
        };
      case 'generate-start':
        this.generating = true;
        return { state: 'DOWNLOADING', message: 'Generating the model files.', progress: null };
      case 'download-retry':
      case 'file-ready':
      case 'file-invalid':
      case 'generate-done':
        return undefined;
    }
  }

  private status(): ModelStatus {
    let total = 0;
    let done = 0;
    for (const entry of this.files.values()) {
      total += entry.total;
      done += Math.min(entry.done, entry.total);
    }
    if (this.generating || total === 0) {
      return { state: 'DOWNLOADING', message: 'Getting the model files.', progress: null };
    }
    return {
      state: 'DOWNLOADING',
      message: `Downloading the model files: ${formatBytes(done)} of ${formatBytes(total)}.`,
      progress: done / total,
    };
  }
}

/** A conversion or loading step of the pipeline, as a status. */
export function loadStatus(progress: ModelLoadProgress): ModelStatus {
  const fraction = progress.fraction ?? null;
  switch (progress.phase) {
    case 'checking':
      return {
        state: 'CONVERTING',
        message: `Checking the ${progress.component}'s weights against the converted models.`,
        progress: fraction,
      };
    case 'converting':
      return {
        state: 'CONVERTING',
        message:
          progress.component === 'live-preview projection'
            ? 'Fitting the live-preview projection with the VAE (once; it is kept for later starts).'
            : `Converting the ${progress.component} to ONNX (once; it is kept for later starts).`,
        progress: fraction,
      };
    case 'loading':
      return { state: 'LOADING', message: `Loading the ${progress.component}.`, progress: null };
  }
}

/** Storage errors, in words. */
const STORAGE_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk holding ZEUS_MODELS_DIR is full',
  EDQUOT: 'the disk quota of ZEUS_MODELS_DIR is used up',
  EACCES: 'the worker may not write to ZEUS_MODELS_DIR',
  EPERM: 'the worker may not write to ZEUS_MODELS_DIR',
  EROFS: 'ZEUS_MODELS_DIR is read-only',
};

/**
 * Why getting the model ready failed and what to do, for users: files by their Hub names, the
 * models folder as ZEUS_MODELS_DIR (the log has the full error).
 */
export function describeModelFailure(error: unknown, device: string, modelsDir = ''): string {
  if (error instanceof HubDownloadError) {
    const what = `${error.file.repo}/${error.file.path}`;
    switch (error.reason) {
      case 'unreachable':
        return (
          `Could not download ${what}: the Hub at ${error.endpoint} cannot be reached ` +
          `(${error.detail}). Check the network, or set HF_ENDPOINT to a reachable mirror.`
        );
      case 'unauthorized':
        return (
          `Could not download ${what}: ${error.endpoint} refused access (${error.detail}). ` +
          `Set HF_TOKEN to a token of an account that may read the repository.`
        );
      case 'not-found':
        return `Could not download ${what}: ${error.detail}. Check HF_ENDPOINT (a mirror may lack this revision).`;
      case 'server-error':
        return `Could not download ${what}: ${error.endpoint} answered ${error.detail}.`;
      case 'verification-failed':
        return `Downloaded ${what}, but it is not the file the Hub describes (${error.detail}); it was removed.`;
      case 'local-io':
        return `Could not save ${what}: ${error.detail}. Check the free space and permissions of ZEUS_MODELS_DIR.`;
    }
  }
  if (error instanceof SessionError) {
    return (
      `The model could not be loaded on device "${device}": ${error.message}. ` +
      `Check the GPU and its driver, or set ZEUS_DEVICE (for example to cpu).`
    );
  }
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && code in STORAGE_PROBLEMS) {
    return `Getting the model ready failed: ${STORAGE_PROBLEMS[code] ?? code}.`;
  }
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n')[0] ?? text;
  const shown = modelsDir === '' ? line : line.split(modelsDir).join('ZEUS_MODELS_DIR');
  return `Getting the model ready failed: ${shown}`;
}

export function failedStatus(
  error: unknown,
  retryInMs: number,
  context: { readonly device: string; readonly modelsDir: string },
): ModelStatus {
  const seconds = Math.round(retryInMs / 1000);
  const why = describeModelFailure(error, context.device, context.modelsDir);
  return {
    state: 'FAILED',
    message: `${why.endsWith('.') ? why : `${why}.`} The worker tries again in ${seconds} s.`,
    progress: null,
  };
}
