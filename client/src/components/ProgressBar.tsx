/** A progress bar screen readers understand: role `progressbar`, `aria-valuenow` 0–100. */
export interface ProgressBarProps {
  /** 0 to 100. */
  readonly percent: number;
  /** The bar's accessible name. */
  readonly label: string;
  /** Where the job is, in words (also shown under the bar). */
  readonly description: string;
}

export function ProgressBar({ percent, label, description }: ProgressBarProps) {
  const clamped = Math.min(100, Math.max(0, Math.round(percent)));
  return (
    <div className="progress">
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={clamped}
        aria-valuetext={`${clamped}% · ${description}`}
      >
        <div className="progress-fill" style={{ width: `${clamped}%` }} />
      </div>
      <p className="progress-text" aria-hidden="true">
        <span className="progress-percent">{clamped}%</span> {description}
      </p>
    </div>
  );
}
