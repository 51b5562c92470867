/** Job ids and stored job records: what names a job and what Zeus reads back. */
import type { Job } from './job.ts';

const JOB_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job ids are UUIDs: anything else cannot name a job, and never reaches a key or a path. */
export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}

/** Parses a stored or relayed job record, checking the fields Zeus relies on. */
export function parseJob(record: unknown): Job {
  const value: unknown = typeof record === 'string' ? JSON.parse(record) : record;
  if (
    typeof value !== 'object' ||
    value === null ||
    !('id' in value) ||
    typeof value.id !== 'string' ||
    !('version' in value) ||
    typeof value.version !== 'number' ||
    !('status' in value) ||
    typeof value.status !== 'string'
  ) {
    throw new Error('Not a job record.');
  }
  return value as Job;
}
