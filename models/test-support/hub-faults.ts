/**
 * The faults a test injects into the local Hub server (hub-server.ts): dropped connections,
 * error statuses, odd answers, corrupted bytes, a server that is down.
 */
import type { HubRequestKind } from './hub-http.ts';

interface FaultMatch {
  /** Only requests for this repository file path; every file when left out. */
  readonly path?: string;
  /** How many matching requests get the fault (default 1). */
  readonly times?: number;
}

export interface HubFaults {
  /**
   * The next matching file downloads send `afterBytes` bytes of the body, then cut the
   * connection. Each fault is used up by the first request it affects (a request for fewer
   * bytes, such as a probe of the first byte, passes untouched).
   */
  dropConnection(options: FaultMatch & { readonly afterBytes: number }): void;
  /** The next matching requests (of `kind`, default any) are answered with `status`. */
  failRequests(
    options: FaultMatch & { readonly status: number; readonly kind?: HubRequestKind },
  ): void;
  /** The next matching requests (of `kind`, default any) get this answer instead (odd Hub answers). */
  respondWith(
    options: FaultMatch & {
      readonly kind?: HubRequestKind;
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    },
  ): void;
  /** The next matching file downloads that include the file's middle byte serve it wrong. */
  corruptContent(options?: FaultMatch): void;
  /** While down, every connection is reset as soon as it is made (and open ones are cut). */
  setDown(down: boolean): void;
  /** Removes every pending fault and brings the server up. */
  clear(): void;
}

interface PendingFault<T> {
  readonly match: FaultMatch;
  remaining: number;
  readonly value: T;
}

/** The faults pending, each used up by the requests it affects. */
export class HubFaultQueue {
  readonly drops: PendingFault<number>[] = [];
  readonly failures: PendingFault<{ status: number; kind: HubRequestKind | undefined }>[] = [];
  readonly corruptions: PendingFault<null>[] = [];
  readonly answers: PendingFault<{
    kind: HubRequestKind | undefined;
    status: number;
    headers: Readonly<Record<string, string>>;
    body: string;
  }>[] = [];
  down = false;

  /** The value of the first fault of `list` for `path` (and `extra`), counted as used once. */
  take<T>(
    list: PendingFault<T>[],
    path: string | undefined,
    extra?: (value: T) => boolean,
  ): T | undefined {
    const index = list.findIndex(
      (fault) =>
        (fault.match.path === undefined || fault.match.path === path) &&
        (extra === undefined || extra(fault.value)),
    );
    const fault = list[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) list.splice(index, 1);
    return fault.value;
  }

  /** What a test calls to add faults; `cutConnections` runs when the server goes down. */
  controls(cutConnections: () => void): HubFaults {
    return {
      dropConnection: ({ afterBytes, ...match }) => {
        this.drops.push({ match, remaining: match.times ?? 1, value: afterBytes });
      },
      failRequests: ({ status, kind, ...match }) => {
        this.failures.push({ match, remaining: match.times ?? 1, value: { status, kind } });
      },
      respondWith: ({ kind, status, headers = {}, body = '', ...match }) => {
        this.answers.push({
          match,
          remaining: match.times ?? 1,
          value: { kind, status, headers, body },
        });
      },
      corruptContent: (match = {}) => {
        this.corruptions.push({ match, remaining: match.times ?? 1, value: null });
      },
      setDown: (value) => {
        this.down = value;
        if (this.down) cutConnections();
      },
      clear: () => {
        this.drops.length = 0;
        this.failures.length = 0;
        this.corruptions.length = 0;
        this.answers.length = 0;
        this.down = false;
      },
    };
  }
}
