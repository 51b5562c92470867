/**
 * Why a model file could not be fetched from the Hub, with a message that names the file and
 * says what the user can do about it.
 */

export type HubErrorReason =
  /** No answer from the Hub (network down, DNS, refused, timed out). */
  | 'unreachable'
  /** The Hub refused: gated or private repository, missing or wrong token. */
  | 'unauthorized'
  /** The repository, revision or file does not exist. */
  | 'not-found'
  /** The Hub answered with an error or something that is not a file (5xx, 429, bad headers). */
  | 'server-error'
  /** The bytes received do not have the size or hash the Hub reports. */
  | 'verification-failed'
  /** The file could not be written locally (disk full, permissions). */
  | 'local-io';

export interface HubFileLocation {
  readonly repo: string;
  readonly revision: string;
  /** Path of the file in the repository. */
  readonly path: string;
  /** Where the file goes on this machine. */
  readonly destination: string;
}

export class HubDownloadError extends Error {
  override readonly name = 'HubDownloadError';
  readonly reason: HubErrorReason;
  readonly file: HubFileLocation;
  readonly endpoint: string;
  /** What went wrong, without the advice (e.g. "connect ECONNREFUSED 127.0.0.1:9"). */
  readonly detail: string;
  /** True when trying again later may succeed without changing anything. */
  readonly retryable: boolean;

  constructor(
    reason: HubErrorReason,
    file: HubFileLocation,
    endpoint: string,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      describe(reason, file, endpoint, detail),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.reason = reason;
    this.file = file;
    this.endpoint = endpoint;
    this.detail = detail;
    this.retryable = reason === 'unreachable' || reason === 'server-error';
  }
}

function describe(
  reason: HubErrorReason,
  file: HubFileLocation,
  endpoint: string,
  detail: string,
): string {
  const what = `${file.repo}/${file.path} (revision ${file.revision})`;
  const byHand = `or copy the file by hand to ${file.destination}`;
  switch (reason) {
    case 'unreachable':
      return (
        `Cannot download ${what}: the Hub at ${endpoint} cannot be reached (${detail}). ` +
        `Check the network connection, set HF_ENDPOINT to a reachable Hugging Face mirror, ` +
        `set HF_TOKEN if the repository is gated, ${byHand}.`
      );
    case 'unauthorized':
      return (
        `Cannot download ${what} from ${endpoint}: access was refused (${detail}). ` +
        `The repository may be gated or private: accept its terms on the Hub and set HF_TOKEN ` +
        `to an access token of an account that has access, ${byHand}.`
      );
    case 'not-found':
      return (
        `Cannot download ${what} from ${endpoint}: ${detail}. Check the revision pinned in ` +
        `models/src/registry.ts and HF_ENDPOINT (a mirror may not have this revision), ${byHand}.`
      );
    case 'server-error':
      return `Cannot download ${what} from ${endpoint}: ${detail}. Try again later, set HF_ENDPOINT to another mirror, ${byHand}.`;
    case 'verification-failed':
      return (
        `Downloaded ${what} from ${endpoint} but it is not the file the Hub describes: ${detail}. ` +
        `The partial download was removed; run the command again, and if it keeps failing set ` +
        `HF_ENDPOINT to another mirror ${byHand}.`
      );
    case 'local-io':
      return `Cannot write ${file.destination} (downloading ${what}): ${detail}. Check free disk space and permissions.`;
  }
}
