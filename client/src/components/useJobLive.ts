/**
 * What keeps a job on screen current, for its card and its page alike: its `jobUpdated`
 * subscription while it is queued or running (updates land in Apollo's cache, normalised by job
 * id, which re-renders whatever shows it), its estimate asked for again while queued, a clock
 * that ticks every second so "time left" counts down, an announcement when it ends, and Cancel
 * and Retry with their errors.
 */
import { skipToken, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { useCancelJob, useRetryJob, type SubmitResult } from '../api/hooks.ts';
import { JOB_ESTIMATE_QUERY, JOB_UPDATED_SUBSCRIPTION, type Job } from '../api/operations.ts';
import { isFinal } from '../jobs/progress.ts';
import { useAnnounce } from './Announcer.tsx';

/** How often a queued job's estimate is asked for again. */
const ESTIMATE_POLL_MS = 2_000;

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

export interface JobLive {
  /** Queued or running: it still changes. */
  readonly active: boolean;
  /** This clock's time, ticking while active. */
  readonly now: number;
  /** True when the job was queued or running when first shown (it was watched as it ran). */
  readonly watchedLive: boolean;
}

export function useJobLive(job: Job): JobLive {
  const active = !isFinal(job);
  useSubscription(JOB_UPDATED_SUBSCRIPTION, active ? { variables: { id: job.id } } : skipToken);
  // While queued, the estimate of its start moves with the jobs ahead: ask for it now and then.
  useQuery(
    JOB_ESTIMATE_QUERY,
    job.status === 'QUEUED'
      ? { variables: { id: job.id }, pollInterval: ESTIMATE_POLL_MS, fetchPolicy: 'network-only' }
      : skipToken,
  );
  const now = useNow(active);
  const [watchedLive] = useState(active);

  const announce = useAnnounce();
  const previousStatus = useRef(job.status);
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

  return { active, now, watchedLive };
}

export interface JobActions {
  readonly cancel: () => void;
  /** Retries a failed or cancelled job; `then` gets the new job. */
  readonly retry: (then?: (job: Job) => void) => void;
  readonly acting: boolean;
  /** What went wrong with the last action, in words; null when nothing did. */
  readonly actionError: string | null;
}

export function useJobActions(job: Job): JobActions {
  const cancelJob = useCancelJob();
  const retryJob = useRetryJob();
  const [actionError, setActionError] = useState<string | null>(null);
  const [acting, setActing] = useState(false);
  const act = (
    action: (job: Job) => Promise<SubmitResult>,
    what: string,
    then?: (job: Job) => void,
  ): void => {
    setActionError(null);
    setActing(true);
    void action(job).then((result) => {
      setActing(false);
      if (!result.ok) setActionError(`Could not ${what}: ${result.message}`);
      else then?.(result.job);
    });
  };
  return {
    cancel: () => {
      act(cancelJob, 'cancel it');
    },
    retry: (then) => {
      act(retryJob, 'retry it', then);
    },
    acting,
    actionError,
  };
}
