/**
 * Job priorities, pure: higher runs first, equal priorities in submission order. Two orders
 * must agree, so they are both derived here: the queued set's scores (whose rank is the queue
 * position users see) and BullMQ's priorities (the order workers take jobs in).
 *
 * Who may ask for what: without API keys anyone may use the whole range; with keys, any key may
 * lower its jobs' priority, and raising it needs the key to be listed in `ZEUS_KEY_PRIORITIES`
 * (`name:max`, comma separated) with a maximum at least that high.
 */
import { ForbiddenError } from './errors.ts';
import { PRIORITY_RANGE } from './job.ts';

/** Submission orders stay below this (2^40, about 10^12 jobs), so bands never overlap. */
const BAND = 2 ** 40;

/**
 * The queued set's score of a job: its submission order, shifted by priority so that higher
 * priorities sort first. Priority 0 is the order itself, as stored before priorities existed.
 */
export function queueScore(priority: number, order: number): number {
  return -priority * BAND + order;
}

/** The priority band's offset alone (added to the order inside the admission script). */
export function queueScoreOffset(priority: number): number {
  return queueScore(priority, 0);
}

/**
 * BullMQ's priority for a job: 1 (first) to 21. BullMQ runs lower numbers first, and jobs of
 * one priority in the order they were added. (0 would mean "no priority", which BullMQ serves
 * before every prioritized job.)
 */
export function bullmqPriority(priority: number): number {
  return PRIORITY_RANGE.max + 1 - priority;
}

/** The most each API key may ask for, by key name. */
export type KeyPriorities = ReadonlyMap<string, number>;

const ENTRY_PATTERN = /^([A-Za-z0-9._-]{1,64}):(-?\d{1,3})$/;

/** Reads `ZEUS_KEY_PRIORITIES` (`alice:10,render-farm:5`). Throws with every problem found. */
export function parseKeyPriorities(text: string): Map<string, number> {
  const problems: string[] = [];
  const result = new Map<string, number>();
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  entries.forEach((entry, index) => {
    const match = ENTRY_PATTERN.exec(entry);
    const max = Number(match?.[2]);
    if (match?.[1] === undefined) {
      problems.push(`entry ${index + 1} must be <key name>:<highest priority>, e.g. alice:10`);
    } else if (max < 1 || max > PRIORITY_RANGE.max) {
      problems.push(
        `entry ${index + 1} (${match[1]}): the priority must be 1 to ${PRIORITY_RANGE.max}`,
      );
    } else if (result.has(match[1])) {
      problems.push(`the name ${match[1]} is given more than once`);
    } else {
      result.set(match[1], max);
    }
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return result;
}

/**
 * The highest priority a caller may use: everything without keys (`keyName` null and keys
 * off), else the key's listed maximum, or 0 for a key not listed.
 */
export function maxPriorityFor(
  keyName: string | null,
  keysEnabled: boolean,
  allowed: KeyPriorities,
): number {
  if (!keysEnabled) return PRIORITY_RANGE.max;
  return keyName === null ? 0 : (allowed.get(keyName) ?? 0);
}

/** Throws FORBIDDEN (naming the field and the caller's maximum) when `priority` is too high. */
export function requirePriorityAllowed(priority: number, maxAllowed: number): void {
  if (priority <= maxAllowed) return;
  throw new ForbiddenError(
    maxAllowed <= 0
      ? `This API key may not raise a job's priority above 0 (asked for ${priority}); the ` +
          'operator can allow it in ZEUS_KEY_PRIORITIES.'
      : `This API key may use priorities up to ${maxAllowed} (asked for ${priority}).`,
    { field: 'priority', maxPriority: maxAllowed },
  );
}
