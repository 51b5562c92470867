/**
 * One job in the list: its prompt (a link to its own page) and settings, its picture (live
 * preview, poster, or the video once played: see JobMedia), a live progress bar while it is
 * queued or running, its error in words, and what can be done with it. Cards are boxes of one
 * layout, so those in a row line up.
 */
import type { Job } from '../api/operations.ts';
import {
  describeExpiry,
  describeProgress,
  describeSettings,
  isFinal,
  progressPercent,
} from '../jobs/progress.ts';
import { jobPath } from '../routing/routes.ts';
import { Link } from '../routing/navigation.tsx';
import { JobMedia } from './JobMedia.tsx';
import { useShowsNegativePrompt } from './model-rules-context.ts';
import { ProgressBar } from './ProgressBar.tsx';
import { useJobActions, useJobLive } from './useJobLive.ts';

export interface JobCardProps {
  readonly job: Job;
  /** Submit the same prompt and settings again, with a new seed. */
  readonly onRunAgain: (job: Job) => void;
  /** Put the job's prompt and settings in the form to change them first. */
  readonly onEdit: (job: Job) => void;
  /** On the first screen: its picture loads at once. */
  readonly eager?: boolean;
}

export const dateTime = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'short',
});

export const STATUS_LABELS: Record<Job['status'], string> = {
  QUEUED: 'Queued',
  RUNNING: 'Running',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

export function JobCard({ job, onRunAgain, onEdit, eager = false }: JobCardProps) {
  const { active, now, watchedLive } = useJobLive(job);
  const { cancel, retry, acting, actionError } = useJobActions(job);
  const showsNegativePrompt = useShowsNegativePrompt();
  const expiry = isFinal(job) ? describeExpiry(job, now) : null;
  const titleId = `job-${job.id}-title`;
  const prompt = job.settings.prompt;

  return (
    <article className={`job job-${job.status.toLowerCase()}`} aria-labelledby={titleId}>
      <header className="job-header">
        <h3 id={titleId} className="job-prompt">
          <Link to={jobPath(job.id)}>{prompt}</Link>
        </h3>
        <p className="job-meta">
          <span className={`status status-${job.status.toLowerCase()}`}>
            {STATUS_LABELS[job.status]}
          </span>{' '}
          <span>{describeSettings(job.settings)}</span> ·{' '}
          <time dateTime={job.createdAt}>{dateTime.format(new Date(job.createdAt))}</time>
          {job.priority !== 0 && <span> · priority {job.priority}</span>}
          {expiry !== null && (
            <span className="job-expiry">
              {' '}
              · <time dateTime={job.expiresAt ?? undefined}>{expiry}</time>
            </span>
          )}
        </p>
      </header>

      <JobMedia job={job} startPlaying={watchedLive} eager={eager} />

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

      {showsNegativePrompt && job.settings.negativePrompt !== '' && (
        <details className="job-details">
          <summary>Negative prompt</summary>
          <p>{job.settings.negativePrompt}</p>
        </details>
      )}

      {actionError !== null && (
        <p className="job-error" role="alert">
          {actionError}
        </p>
      )}

      <div className="job-actions">
        {active && (
          <button type="button" disabled={acting} onClick={cancel}>
            Cancel<span className="visually-hidden"> “{prompt}”</span>
          </button>
        )}
        {(job.status === 'FAILED' || job.status === 'CANCELLED') && (
          <button
            type="button"
            disabled={acting}
            onClick={() => {
              retry();
            }}
          >
            Retry<span className="visually-hidden"> “{prompt}” with the same seed</span>
          </button>
        )}
        {job.status === 'SUCCEEDED' && job.videoUrl !== null && (
          <a className="button" href={job.videoUrl} download={`zeus-${job.id}.mp4`}>
            Download<span className="visually-hidden"> “{prompt}”</span>
          </a>
        )}
        <button
          type="button"
          onClick={() => {
            onRunAgain(job);
          }}
        >
          Run again<span className="visually-hidden"> “{prompt}”</span>
        </button>
        <button
          type="button"
          onClick={() => {
            onEdit(job);
          }}
        >
          Edit<span className="visually-hidden"> “{prompt}”</span>
        </button>
      </div>
    </article>
  );
}
