/** Tells the user when the live connection dropped and is being retried. */
import { useConnectionState } from '../api/hooks.ts';

export function ConnectionBanner() {
  const state = useConnectionState();
  return (
    <div className="connection" role="status" aria-live="polite">
      {state === 'reconnecting' && (
        <p className="banner banner-warning">
          <strong>Reconnecting…</strong> The live connection to Zeus dropped; progress resumes as
          soon as it is back.
        </p>
      )}
    </div>
  );
}
