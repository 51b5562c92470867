/**
 * A job's picture, in a box of one shape whatever it holds, so cards in a row line up: the live
 * preview while it runs, the finished video's poster with a Play button until it is played, then
 * the video itself (one `<video>`, loaded only then), or a plain box saying why there is none.
 * A video watched while it was made starts at once, muted and looping, as it always has.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { Job } from '../api/operations.ts';
import { stageLabel } from '../jobs/progress.ts';

export interface JobMediaProps {
  readonly job: Job;
  /** Play the video as soon as it is there (it was watched while it was made). */
  readonly startPlaying: boolean;
  /** The job's own page: a larger picture, and the video there at once. */
  readonly large?: boolean;
  /** On the first screen: its poster is fetched at once rather than when scrolled near. */
  readonly eager?: boolean;
}

function usePrefersReducedMotion(): boolean {
  const [reduced] = useState(
    () =>
      typeof window.matchMedia === 'function' &&
      window.matchMedia('(prefers-reduced-motion: reduce)').matches,
  );
  return reduced;
}

export function JobMedia({ job, startPlaying, large = false, eager = false }: JobMediaProps) {
  const reducedMotion = usePrefersReducedMotion();
  const [played, setPlayed] = useState<'not' | 'auto' | 'asked'>(startPlaying ? 'auto' : 'not');
  const video = useRef<HTMLVideoElement>(null);
  const prompt = job.settings.prompt;
  const { width, height } = job.settings;
  const poster = job.posterUrl ?? null;

  useEffect(() => {
    // The Play button is gone: the keyboard goes on from the player that replaced it.
    if (played === 'asked') video.current?.focus();
  }, [played]);

  const frame = (content: ReactNode, extra = '') => (
    <div
      className={`job-media${large ? ' job-media-large' : ''}${extra}`}
      // Cards share one box shape (CSS), so a row lines up; a job's page takes the video's own.
      style={large ? { aspectRatio: `${width} / ${height}` } : undefined}
    >
      {content}
    </div>
  );

  if (job.status === 'SUCCEEDED' && job.videoUrl !== null) {
    if (played !== 'not' || large) {
      return frame(
        <video
          ref={video}
          className="job-video"
          src={job.videoUrl}
          poster={poster ?? undefined}
          width={width}
          height={height}
          autoPlay={played === 'asked' || !reducedMotion}
          muted
          loop
          controls
          playsInline
          preload={played === 'not' ? 'metadata' : 'auto'}
          aria-label={`Video: ${prompt}`}
        />,
      );
    }
    return frame(
      <button
        type="button"
        className="job-play"
        onClick={() => {
          setPlayed('asked');
        }}
      >
        {poster !== null && (
          <img
            src={poster}
            alt=""
            width={width}
            height={height}
            loading={eager ? 'eager' : 'lazy'}
            decoding="async"
          />
        )}
        <span className="job-play-icon" aria-hidden="true" />
        <span className="visually-hidden">Play “{prompt}”</span>
      </button>,
    );
  }

  if ((job.status === 'QUEUED' || job.status === 'RUNNING') && job.previewUrl != null) {
    return frame(
      <img
        className="job-preview"
        src={job.previewUrl}
        width={width}
        height={height}
        alt={`Live preview of “${prompt}”, step ${job.step} of ${job.totalSteps}`}
      />,
    );
  }

  const words =
    job.status === 'QUEUED'
      ? 'Waiting for its turn'
      : job.status === 'RUNNING'
        ? stageLabel(job.stage)
        : job.status === 'FAILED'
          ? 'No video: it failed'
          : job.status === 'CANCELLED'
            ? 'No video: cancelled'
            : 'No video';
  return frame(
    <p className="job-media-note" aria-hidden="true">
      {words}
    </p>,
    ' job-media-empty',
  );
}
