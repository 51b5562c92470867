/** The service at a glance: model, workers, queue. */
import type { ModelStatus, SystemStatus } from '../api/operations.ts';

const plural = (count: number, one: string, many: string): string =>
  `${count} ${count === 1 ? one : many}`;

/** " (downloading, 34 %)" while the workers get the model ready. */
function modelStateText(status: ModelStatus | null | undefined): string {
  if (status == null || status.state === 'READY') return '';
  const percent = status.progress === null ? '' : `, ${Math.floor(status.progress * 100)} %`;
  return ` (${status.state.toLowerCase()}${percent})`;
}

export function SystemStatusLine({ system }: { readonly system: SystemStatus | undefined }) {
  if (system === undefined) return null;
  return (
    <p className="system-status">
      <span>
        Model <code>{system.model}</code>
        {system.modelReady ? ' ready' : ` not ready${modelStateText(system.modelStatus)}`}
      </span>
      <span>{plural(system.workersOnline, 'worker', 'workers')} online</span>
      <span>{plural(system.running, 'job', 'jobs')} running</span>
      <span>{plural(system.queueLength, 'job', 'jobs')} queued</span>
    </p>
  );
}
