/**
 * Every job, newest first, the same from any browser: the first page at once, older pages as the
 * list scrolls towards its end (the API's cursor; also a button, for the keyboard), and a search
 * box that asks the server for the jobs whose prompt holds its words. Cards show posters, not
 * videos, so a history of thousands costs the first screen what a dozen cards cost.
 */
import { NetworkStatus } from '@apollo/client';
import { useQuery } from '@apollo/client/react';
import { useCallback, useEffect, useId, useRef, useState, type RefObject } from 'react';
import { HISTORY_PAGE_SIZE } from '../api/hooks.ts';
import { JOBS_QUERY, type Job } from '../api/operations.ts';
import { JobCard } from './JobCard.tsx';

/** Jobs submitted elsewhere (another browser, the CLI) show up within this time. */
const HISTORY_POLL_MS = 15_000;
/** A search is sent once typing pauses this long (or at once with Enter). */
const SEARCH_DELAY_MS = 300;
/** The next page is asked for when the end of the list is this close to the screen. */
const LOAD_AHEAD = '600px';

export interface JobHistoryProps {
  readonly onRunAgain: (job: Job) => void;
  readonly onEdit: (job: Job) => void;
}

/**
 * Calls `load` whenever `sentinel` is within LOAD_AHEAD of the screen while `enabled`; again
 * after each page (`page` changes), so a page that did not fill the screen is followed by the
 * next one.
 */
function useLoadWhenNear(
  sentinel: RefObject<HTMLElement | null>,
  enabled: boolean,
  load: () => void,
  page: unknown,
): void {
  useEffect(() => {
    const element = sentinel.current;
    if (!enabled || element === null || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) load();
      },
      { rootMargin: `${LOAD_AHEAD} 0px` },
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
    };
  }, [sentinel, enabled, load, page]);
}

export function JobHistory({ onRunAgain, onEdit }: JobHistoryProps) {
  const searchId = useId();
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearch(typed.trim());
    }, SEARCH_DELAY_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [typed]);

  const { data, previousData, error, fetchMore, networkStatus } = useQuery(JOBS_QUERY, {
    variables: { first: HISTORY_PAGE_SIZE, ...(search === '' ? {} : { search }) },
    pollInterval: HISTORY_POLL_MS,
    notifyOnNetworkStatusChange: true,
  });
  // While a new search runs, the last answer stays on screen.
  const jobs = (data ?? previousData)?.jobs;
  const loadingMore = networkStatus === NetworkStatus.fetchMore;
  const searching = networkStatus === NetworkStatus.setVariables;
  const endCursor = jobs?.pageInfo.endCursor ?? null;
  const hasNextPage = jobs?.pageInfo.hasNextPage ?? false;

  const loadMore = useCallback(() => {
    if (endCursor === null) return;
    void fetchMore({ variables: { after: endCursor } });
  }, [fetchMore, endCursor]);
  const sentinel = useRef<HTMLDivElement>(null);
  useLoadWhenNear(sentinel, hasNextPage && !loadingMore && !searching, loadMore, endCursor);

  const searchBox = (
    <form
      role="search"
      className="history-search"
      onSubmit={(event) => {
        event.preventDefault();
        setSearch(typed.trim());
      }}
    >
      <label htmlFor={searchId}>Search videos</label>
      <input
        id={searchId}
        type="search"
        name="search"
        value={typed}
        placeholder="Words in the prompt"
        maxLength={200}
        onChange={(event) => {
          setTyped(event.target.value);
        }}
      />
    </form>
  );

  if (jobs === undefined) {
    return (
      <>
        {searchBox}
        {error === undefined ? (
          <p className="muted">Loading the history…</p>
        ) : (
          <p className="banner banner-error" role="alert">
            Could not load the history: {error.message}
          </p>
        )}
      </>
    );
  }
  const count = jobs.edges.length;
  const status =
    search === ''
      ? `Showing ${count} of ${jobs.totalCount}`
      : `${count} ${count === 1 ? 'video matches' : 'videos match'} “${search}”` +
        (hasNextPage ? ', looking through older ones' : '');
  return (
    <>
      {searchBox}
      {count === 0 && search === '' && !hasNextPage && (
        <p className="muted">No videos yet: write a prompt above and press Generate.</p>
      )}
      {count > 0 && (
        <ol className="jobs" aria-label="Videos, newest first" aria-busy={searching}>
          {jobs.edges.map(({ node }, index) => (
            <li key={node.id}>
              <JobCard
                job={node}
                onRunAgain={onRunAgain}
                onEdit={onEdit}
                eager={index < HISTORY_PAGE_SIZE}
              />
            </li>
          ))}
        </ol>
      )}
      <div className="pager" ref={sentinel}>
        <p className="muted" role={search === '' ? undefined : 'status'}>
          {searching ? 'Searching…' : status}
        </p>
        {hasNextPage && (
          <button type="button" disabled={loadingMore} onClick={loadMore}>
            {loadingMore ? 'Loading…' : 'Show older videos'}
          </button>
        )}
      </div>
    </>
  );
}
