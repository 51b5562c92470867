/**
 * One job: its prompt and settings, a live progress bar while it is queued or running, then its
 * video (playing on its own, muted and looping) with a download link, or its error in words.
 */
import { skipToken, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { useCancelJob, useRetryJob } from '../api/hooks.ts';
import { JOB_ESTIMATE_QUERY, JOB_UPDATED_SUBSCRIPTION, type Job } from '../api/operations.ts';
import {
  describeExpiry,
  describeProgress,
  describeSettings,
  isFinal,
  progressPercent,
} from '../jobs/progress.ts';
import { useAnnounce } from './Announcer.tsx';
import { ProgressBar } from './ProgressBar.tsx';

export interface JobCardProps {
  readonly job: Job;
  /** Submit the same prompt and settings again, with a new seed. */
  readonly onRunAgain: (job: Job) => void;
  /** Put the job's prompt and settings in the form to change them first. */
  readonly onEdit: (job: Job) => void;
}

/** How often a queued job's estimate is asked for again. */
const ESTIMATE_POLL_MS = 2_000;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Re-renders every second while `active`, so "time left" counts down between events. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      setNow(Date.now());
    }, 1_000);
    return () => {
      clearInterval(timer);
    };
  }, [active]);
  return now;
}

function usePrefersReducedMotion(): boolean {
  const [reduced] = useState(
    () =>
      typeof window.matchMedia === 'function' &&
      window.matchMedia('(prefers-reduced-motion: reduce)').matches,
  );
  return reduced;
}

const STATUS_LABELS: Record<Job['status'], string> = {
  QUEUED: 'Queued',
  RUNNING: 'Running',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

export function JobCard({ job, onRunAgain, onEdit }: JobCardProps) {
  const active = !isFinal(job);
  // Updates land in Apollo's cache (normalized by job id), which re-renders this card.
  useSubscription(JOB_UPDATED_SUBSCRIPTION, active ? { variables: { id: job.id } } : skipToken);
  // While queued, the estimate of its start moves with the jobs ahead: ask for it now and then.
  useQuery(
    JOB_ESTIMATE_QUERY,
    job.status === 'QUEUED'
      ? { variables: { id: job.id }, pollInterval: ESTIMATE_POLL_MS, fetchPolicy: 'network-only' }
      : skipToken,
  );
  // Ticks while queued too: "starts in about …" counts down as well.
  const now = useNow(active);
  const cancelJob = useCancelJob();
  const retryJob = useRetryJob();
  const [actionError, setActionError] = useState<string | null>(null);
  const [acting, setActing] = useState(false);
  const act = (action: (job: Job) => Promise<{ ok: boolean; message?: string }>, what: string) => {
    setActionError(null);
    setActing(true);
    void action(job).then((result) => {
      setActing(false);
      if (!result.ok) setActionError(`Could not ${what}: ${result.message ?? 'no reason given'}`);
    });
  };
  const expiry = isFinal(job) ? describeExpiry(job, now) : null;
  const reducedMotion = usePrefersReducedMotion();
  const announce = useAnnounce();
  // A job watched while it ran keeps its full bar when done; past jobs show just the result.
  const [watchedLive] = useState(active);
  const previousStatus = useRef(job.status);
  const titleId = `job-${job.id}-title`;
  const prompt = job.settings.prompt;

  useEffect(() => {
    const previous = previousStatus.current;
    previousStatus.current = job.status;
    if (previous === job.status || !isFinal(job)) return;
    if (job.status === 'SUCCEEDED') announce(`Video ready: ${prompt}`);
    else if (job.status === 'FAILED') {
      announce(`Generation failed: ${job.error?.message ?? 'unknown error'}`);
    } else announce(`Cancelled: ${prompt}`);
  }, [job, prompt, announce]);

  return (
    <article className={`job job-${job.status.toLowerCase()}`} aria-labelledby={titleId}>
      <header className="job-header">
        <h3 id={titleId} className="job-prompt">
          {prompt}
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

      {(active || (watchedLive && job.status === 'SUCCEEDED')) && (
        <ProgressBar
          percent={progressPercent(job)}
          label={`Progress of “${prompt}”`}
          description={describeProgress(job, now)}
        />
      )}

      {active && job.previewUrl != null && (
        <img
          className="job-preview"
          src={job.previewUrl}
          width={job.settings.width}
          height={job.settings.height}
          alt={`Live preview of “${prompt}”, step ${job.step} of ${job.totalSteps}`}
        />
      )}

      {job.status === 'SUCCEEDED' && job.videoUrl !== null && (
        <video
          className="job-video"
          src={job.videoUrl}
          width={job.settings.width}
          height={job.settings.height}
          autoPlay={!reducedMotion}
          muted
          loop
          controls
          playsInline
          preload="auto"
          aria-label={`Video: ${prompt}`}
        />
      )}

      {job.status === 'FAILED' && (
        <p className="job-error">
          <strong>Failed:</strong> {job.error?.message ?? 'the worker gave no reason.'}
          {job.error !== null && <code className="error-code"> {job.error.code}</code>}
        </p>
      )}

      {job.settings.negativePrompt !== '' && (
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
          <button
            type="button"
            disabled={acting}
            onClick={() => {
              act(cancelJob, 'cancel it');
            }}
          >
            Cancel<span className="visually-hidden"> “{prompt}”</span>
          </button>
        )}
        {(job.status === 'FAILED' || job.status === 'CANCELLED') && (
          <button
            type="button"
            disabled={acting}
            onClick={() => {
              act(retryJob, 'retry it');
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
