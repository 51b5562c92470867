/** Every job, newest first, a page at a time: the history survives reloads and is shared. */
import { NetworkStatus } from '@apollo/client';
import { useQuery } from '@apollo/client/react';
import { HISTORY_PAGE_SIZE } from '../api/hooks.ts';
import { JOBS_QUERY, type Job } from '../api/operations.ts';
import { JobCard } from './JobCard.tsx';

/** Jobs submitted elsewhere (another browser, the CLI) show up within this time. */
const HISTORY_POLL_MS = 15_000;

export interface JobHistoryProps {
  readonly onRunAgain: (job: Job) => void;
  readonly onEdit: (job: Job) => void;
}

export function JobHistory({ onRunAgain, onEdit }: JobHistoryProps) {
  const { data, error, fetchMore, networkStatus } = useQuery(JOBS_QUERY, {
    variables: { first: HISTORY_PAGE_SIZE },
    pollInterval: HISTORY_POLL_MS,
    notifyOnNetworkStatusChange: true,
  });
  const jobs = data?.jobs;
  const loadingMore = networkStatus === NetworkStatus.fetchMore;

  if (jobs === undefined) {
    return error === undefined ? (
      <p className="muted">Loading the history…</p>
    ) : (
      <p className="banner banner-error" role="alert">
        Could not load the history: {error.message}
      </p>
    );
  }
  if (jobs.edges.length === 0) {
    return <p className="muted">No videos yet: write a prompt above and press Generate.</p>;
  }
  return (
    <>
      <ol className="jobs" aria-label="Videos, newest first">
        {jobs.edges.map(({ node }) => (
          <li key={node.id}>
            <JobCard job={node} onRunAgain={onRunAgain} onEdit={onEdit} />
          </li>
        ))}
      </ol>
      <div className="pager">
        <p className="muted">
          Showing {jobs.edges.length} of {jobs.totalCount}
        </p>
        {jobs.pageInfo.hasNextPage && (
          <button
            type="button"
            disabled={loadingMore}
            onClick={() => {
              void fetchMore({ variables: { after: jobs.pageInfo.endCursor } });
            }}
          >
            {loadingMore ? 'Loading…' : 'Show older videos'}
          </button>
        )}
      </div>
    </>
  );
}
