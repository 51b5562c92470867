/** A page of the job history, and the cursors that say where the next one starts. */
import { InvalidInputError } from './errors.ts';
import type { JobView } from './job.ts';

export interface JobPage {
  readonly jobs: readonly { readonly cursor: string; readonly job: JobView }[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
  readonly totalCount: number;
}

export function encodeCursor(order: string): string {
  return Buffer.from(`job:${order}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const match = /^job:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match?.[1] === undefined) {
    throw new InvalidInputError([
      {
        field: 'after',
        rule: 'cursor',
        message: 'after must be an endCursor returned by jobs.',
      },
    ]);
  }
  return Number(match[1]);
}
