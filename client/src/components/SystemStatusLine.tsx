/** The service at a glance: model, workers, queue. */
import type { SystemStatus } from '../api/operations.ts';

const plural = (count: number, one: string, many: string): string =>
  `${count} ${count === 1 ? one : many}`;

export function SystemStatusLine({ system }: { readonly system: SystemStatus | undefined }) {
  if (system === undefined) return null;
  return (
    <p className="system-status">
      <span>
        Model <code>{system.model}</code>
        {system.modelReady ? ' ready' : ' not ready'}
      </span>
      <span>{plural(system.workersOnline, 'worker', 'workers')} online</span>
      <span>{plural(system.running, 'job', 'jobs')} running</span>
      <span>{plural(system.queueLength, 'job', 'jobs')} queued</span>
    </p>
  );
}
