/**
 * One job's own page (`/jobs/<id>`): what a shared link or a reload opens. Its video (or live
 * progress), every setting it ran with, and Download, Run again, Retry, Cancel and Edit. A job
 * that does not exist, is another API key's, or an id that is not one, is said so plainly.
 */
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { useQuery } from '@apollo/client/react';
import { useEffect, useRef, type ReactNode, type RefObject } from 'react';
import { JOB_QUERY, type Job } from '../api/operations.ts';
import {
  describeExpiry,
  describeProgress,
  formatDuration,
  isFinal,
  progressPercent,
} from '../jobs/progress.ts';
import { formatSeconds, secondsOf } from '../jobs/shape.ts';
import { PRIORITY_CHOICES } from '../jobs/settings-form.ts';
import { Link, navigate } from '../routing/navigation.tsx';
import { jobPath } from '../routing/routes.ts';
import { dateTime, STATUS_LABELS } from './JobCard.tsx';
import { JobMedia } from './JobMedia.tsx';
import { useShowsNegativePrompt } from './model-rules-context.ts';
import { ProgressBar } from './ProgressBar.tsx';
import { useJobActions, useJobLive } from './useJobLive.ts';

export interface JobPageProps {
  readonly id: string;
  /** How long finished jobs are kept, for the not-found message; null: for ever. */
  readonly retentionSeconds: number | null;
  readonly onRunAgain: (job: Job) => void;
  readonly onEdit: (job: Job) => void;
  /** What went wrong with Run again, if it did. */
  readonly actionError: string | null;
}

/** Why the job cannot be shown, from the API's error code. */
function explain(
  error: unknown,
  id: string,
  retentionSeconds: number | null,
): { title: string; text: string } {
  const code = CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.['code'] : null;
  switch (code) {
    case 'NOT_FOUND':
      return {
        title: 'Video not found',
        text:
          `This Zeus has no video ${id}: the link may be wrong, or the video was removed` +
          (retentionSeconds === null
            ? '.'
            : ` (finished videos are kept ${formatDuration(retentionSeconds)}).`),
      };
    case 'FORBIDDEN':
      return {
        title: 'This video is another API key’s',
        text: 'It was made with another API key, and only that key can see it.',
      };
    case 'BAD_USER_INPUT':
      return {
        title: 'Not a video’s address',
        text: `“${id}” is not the id of a video: ids look like 6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f.`,
      };
    case 'UNAUTHENTICATED':
      return {
        title: 'This Zeus needs an API key',
        text: 'Enter the key above to see this video.',
      };
    default:
      return {
        title: 'Could not load the video',
        text: error instanceof Error ? error.message : 'Zeus did not answer.',
      };
  }
}

export function JobPage({ id, retentionSeconds, onRunAgain, onEdit, actionError }: JobPageProps) {
  const { data, error } = useQuery(JOB_QUERY, { variables: { id } });
  const heading = useRef<HTMLHeadingElement>(null);
  const job = data?.job;
  const settled = job !== undefined || error !== undefined;
  // The new page's heading takes the focus, so keyboard and screen reader users start there.
  useEffect(() => {
    if (settled) heading.current?.focus();
  }, [settled, id]);

  if (job !== undefined) {
    return (
      <JobDetails
        // Another job (Run again, Retry) is another page: nothing carries over.
        key={job.id}
        job={job}
        headingRef={heading}
        onRunAgain={onRunAgain}
        onEdit={onEdit}
        actionError={actionError}
      />
    );
  }
  if (error === undefined) {
    return (
      <section className="panel" aria-busy="true" aria-labelledby="job-loading-title">
        <h2 id="job-loading-title">Loading the video…</h2>
      </section>
    );
  }
  const { title, text } = explain(error, id, retentionSeconds);
  return (
    <section className="panel job-missing" aria-labelledby="job-missing-title">
      <h2 id="job-missing-title" ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <p>{text}</p>
      <p>
        <Link to="/">See all videos</Link>
      </p>
    </section>
  );
}

interface JobDetailsProps {
  readonly job: Job;
  readonly headingRef: RefObject<HTMLHeadingElement | null>;
  readonly onRunAgain: (job: Job) => void;
  readonly onEdit: (job: Job) => void;
  readonly actionError: string | null;
}

function priorityName(priority: number): string {
  const named = PRIORITY_CHOICES.find((choice) => Number(choice.value) === priority);
  return named === undefined ? String(priority) : `${named.label} (${priority})`;
}

function JobDetails({ job, headingRef, onRunAgain, onEdit, actionError }: JobDetailsProps) {
  const { active, now, watchedLive } = useJobLive(job);
  const { cancel, retry, acting, actionError: ownError } = useJobActions(job);
  const showsNegativePrompt = useShowsNegativePrompt();
  const { settings } = job;
  const prompt = settings.prompt;
  const expiry = isFinal(job) ? describeExpiry(job, now) : null;
  useEffect(() => {
    document.title = `${prompt} · Zeus`;
  }, [prompt]);

  const rows: [string, ReactNode][] = [
    ['Status', STATUS_LABELS[job.status]],
    ['Size', `${settings.width}×${settings.height} pixels`],
    [
      'Length',
      `${formatSeconds(secondsOf(settings.numFrames, settings.frameRate))} s: ${settings.numFrames} frames at ${settings.frameRate} fps`,
    ],
    ['Seed', String(settings.seed)],
    ['Priority', priorityName(job.priority)],
    ['Live previews', settings.preview === false ? 'Off' : 'On'],
  ];
  if (showsNegativePrompt)
    rows.push([
      'Negative prompt',
      settings.negativePrompt === '' ? 'None' : settings.negativePrompt,
    ]);
  if (settings.image != null) {
    rows.push([
      'First frame',
      `${settings.image.width}×${settings.image.height} ${settings.image.type.toUpperCase()}`,
    ]);
  }
  const when = (instant: string | null): ReactNode =>
    instant === null ? '—' : <time dateTime={instant}>{dateTime.format(new Date(instant))}</time>;
  rows.push(['Submitted', when(job.createdAt)]);
  if (job.startedAt !== null) rows.push(['Started', when(job.startedAt)]);
  if (job.finishedAt !== null) rows.push(['Finished', when(job.finishedAt)]);
  if (expiry !== null) rows.push(['Kept', expiry]);
  if (job.retryOf !== null) {
    rows.push(['Retry of', <Link to={jobPath(job.retryOf)}>an earlier job</Link>]);
  }

  return (
    <article className="panel job-page" aria-labelledby="job-page-title">
      <p className="job-page-back">
        <Link to="/">← All videos</Link>
      </p>
      <h2 id="job-page-title" ref={headingRef} tabIndex={-1} className="job-page-title">
        {prompt}
      </h2>
      <div className="job-page-body">
        <div className="job-page-media">
          <JobMedia job={job} startPlaying={watchedLive} large />
          {(active || (watchedLive && job.status === 'SUCCEEDED')) && (
            <ProgressBar
              percent={progressPercent(job)}
              label={`Progress of “${prompt}”`}
              description={describeProgress(job, now)}
            />
          )}
          {job.status === 'FAILED' && (
            <p className="job-error">
              <strong>Failed:</strong> {job.error?.message ?? 'the worker gave no reason.'}
              {job.error !== null && <code className="error-code"> {job.error.code}</code>}
            </p>
          )}
        </div>
        <div className="job-page-side">
          <h3 className="visually-hidden">Settings</h3>
          <dl className="job-settings">
            {rows.map(([name, value]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          {[ownError, actionError].map(
            (message) =>
              message !== null && (
                <p key={message} className="job-error" role="alert">
                  {message}
                </p>
              ),
          )}
          <div className="job-actions">
            {job.status === 'SUCCEEDED' && job.videoUrl !== null && (
              <a className="button primary" href={job.videoUrl} download={`zeus-${job.id}.mp4`}>
                Download
              </a>
            )}
            {active && (
              <button type="button" disabled={acting} onClick={cancel}>
                Cancel
              </button>
            )}
            {(job.status === 'FAILED' || job.status === 'CANCELLED') && (
              <button
                type="button"
                disabled={acting}
                onClick={() => {
                  retry((created) => {
                    navigate(jobPath(created.id));
                  });
                }}
              >
                Retry with the same seed
              </button>
            )}
            <button
              type="button"
              onClick={() => {
                onRunAgain(job);
              }}
            >
              Run again
            </button>
            <button
              type="button"
              onClick={() => {
                onEdit(job);
              }}
            >
              Edit
            </button>
          </div>
        </div>
      </div>
    </article>
  );
}
