/**
 * How long finished jobs are kept (`ZEUS_RETENTION`), pure: a duration such as `7d`, `12h`,
 * `30m`, `90s` or `2w`, or `off` (kept for ever, the default). A job expires that long after it
 * finished; queued and running jobs never expire.
 */
import { isFinalStatus, type Job } from './job.ts';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** The longest retention accepted: ten years. */
const MAX_RETENTION_MS = 3_650 * 86_400_000;

/** Reads a retention: milliseconds, or null for `off`. Throws with what is wrong. */
export function parseRetention(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (value === 'off') return null;
  const match = /^(\d{1,7})(s|m|h|d|w)$/.exec(value);
  if (match === null) {
    throw new Error('must be a duration such as 7d, 12h, 30m, 90s or 2w, or "off"');
  }
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1_000);
  if (ms < 1_000) throw new Error('must be at least 1s (or "off")');
  if (ms > MAX_RETENTION_MS) throw new Error('must be at most ten years (or "off")');
  return ms;
}

/** When a job expires: `retentionMs` after it finished; null while it runs or with retention off. */
export function expiresAt(
  job: Pick<Job, 'status' | 'finishedAt'>,
  retentionMs: number | null,
): string | null {
  if (retentionMs === null || !isFinalStatus(job.status) || job.finishedAt === null) return null;
  const finished = Date.parse(job.finishedAt);
  return Number.isNaN(finished) ? null : new Date(finished + retentionMs).toISOString();
}

/** True when the job has expired at `now`. */
export function isExpired(
  job: Pick<Job, 'status' | 'finishedAt'>,
  retentionMs: number | null,
  now: Date,
): boolean {
  const at = expiresAt(job, retentionMs);
  return at !== null && Date.parse(at) <= now.getTime();
}

/**
 * How often the sweeper looks: a tenth of the retention, between 1 s and 1 min, so a job is
 * removed at most about that long after it expires.
 */
export function sweepIntervalMs(retentionMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.round(retentionMs / 10)));
}
