import { describe, expect, it } from 'vitest';
import { createCache } from '../src/api/cache.ts';
import { fieldErrorsOf } from '../src/api/hooks.ts';
import { JOBS_QUERY, type Job, type JobConnection } from '../src/api/operations.ts';
import { job } from './fixtures.ts';

const minute = (n: number): string => new Date(Date.UTC(2026, 10, 27, 14, n)).toISOString();
const jobAt = (id: string, n: number): Job => job({ id, createdAt: minute(n) });

function page(
  jobs: readonly Job[],
  hasNextPage: boolean,
  totalCount: number,
): { jobs: JobConnection } {
  return {
    jobs: {
      __typename: 'JobConnection',
      edges: jobs.map((node) => ({ __typename: 'JobEdge', cursor: `c-${node.id}`, node })),
      pageInfo: { hasNextPage, endCursor: jobs.length > 0 ? `c-${jobs.at(-1)?.id}` : null },
      totalCount,
    },
  };
}

describe('the history in the cache', () => {
  it('appends older pages, prepends new jobs and keeps loaded pages across a refetch', () => {
    const cache = createCache();
    const read = () => cache.readQuery({ query: JOBS_QUERY, variables: { first: 2 } })?.jobs;
    const ids = () => read()?.edges.map((edge) => edge.node.id);

    cache.writeQuery({
      query: JOBS_QUERY,
      variables: { first: 2 },
      data: page([jobAt('d', 4), jobAt('c', 3)], true, 4),
    });
    cache.writeQuery({
      query: JOBS_QUERY,
      variables: { first: 2, after: 'c-c' },
      data: page([jobAt('b', 2), jobAt('a', 1)], false, 4),
    });
    expect(ids()).toEqual(['d', 'c', 'b', 'a']);
    expect(read()?.pageInfo).toEqual({ hasNextPage: false, endCursor: 'c-a' });

    // A job just submitted: one edge, merged by creation time, the tail's pageInfo kept.
    const existing = read();
    cache.writeQuery({
      query: JOBS_QUERY,
      variables: { first: 2 },
      data: {
        jobs: {
          ...page([jobAt('e', 5)], false, 5).jobs,
          pageInfo: existing?.pageInfo ?? { hasNextPage: false, endCursor: null },
        },
      },
    });
    expect(ids()).toEqual(['e', 'd', 'c', 'b', 'a']);

    // The first page refetched after a reconnect: newer state replaces older, nothing is lost.
    cache.writeQuery({
      query: JOBS_QUERY,
      variables: { first: 2 },
      data: page([{ ...jobAt('e', 5), status: 'RUNNING' }, jobAt('d', 4)], true, 5),
    });
    expect(ids()).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(read()?.edges[0]?.node.status).toBe('RUNNING');
    expect(read()?.pageInfo).toEqual({ hasNextPage: false, endCursor: 'c-a' });
    expect(read()?.totalCount).toBe(5);
  });
});

describe('fieldErrorsOf', () => {
  it('maps every problem of a BAD_USER_INPUT error to its form field', () => {
    expect(
      fieldErrorsOf(
        {
          code: 'BAD_USER_INPUT',
          field: 'width',
          problems: [
            {
              field: 'width',
              rule: 'multiple',
              message: 'width must be a multiple of 32 (got 250).',
            },
            { field: 'numFrames', rule: 'frames', message: 'numFrames must be 8k+1 (got 20).' },
            { field: 'first', rule: 'range', message: 'not a form field' },
          ],
        },
        'width must be a multiple of 32 (got 250). numFrames must be 8k+1 (got 20).',
      ),
    ).toEqual({
      width: 'width must be a multiple of 32 (got 250).',
      numFrames: 'numFrames must be 8k+1 (got 20).',
    });
    expect(fieldErrorsOf({ code: 'QUEUE_FULL' }, 'full')).toEqual({});
  });
});
