/**
 * What a worker is doing, in words (pure): for the web app's Workers panel and `zeus workers`.
 */
import type { WorkerInfo } from '../api/workers.ts';

export interface WorkerDescription {
  /** `ONLINE` workers: idle, generating, or getting their model ready; `GONE`: stopped or lost. */
  readonly state: 'idle' | 'busy' | 'preparing' | 'gone';
  /** One short sentence: "generating 45 % of “a red fox…”", "idle", "gone". */
  readonly doing: string;
  /** "2 s ago", "3 min ago". */
  readonly lastSeen: string;
}

/** "5 s ago", "3 min ago", "2 h ago"; "just now" under a second (or a clock ahead of ours). */
export function ago(iso: string, now: Date): string {
  const seconds = Math.floor((now.getTime() - Date.parse(iso)) / 1000);
  if (!(seconds >= 1)) return 'just now';
  if (seconds < 120) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

export function describeWorker(worker: WorkerInfo, now: Date): WorkerDescription {
  const lastSeen = ago(worker.lastSeenAt, now);
  if (worker.status === 'GONE') {
    return { state: 'gone', doing: `gone (last seen ${lastSeen})`, lastSeen };
  }
  if (worker.currentJobId !== null) {
    const job = worker.currentJob;
    const doing =
      job === null
        ? `generating job ${worker.currentJobId.slice(0, 8)}`
        : `generating ${Math.floor(job.progress * 100)} % of “${shorten(job.settings.prompt, 40)}”`;
    return { state: 'busy', doing, lastSeen };
  }
  if (!worker.ready) {
    const status = worker.modelStatus;
    const percent = status?.progress == null ? '' : ` ${Math.floor(status.progress * 100)} %`;
    return {
      state: 'preparing',
      doing:
        status === null
          ? 'getting the model ready'
          : `${status.state === 'FAILED' ? 'model failed' : status.state.toLowerCase()}${percent}`,
      lastSeen,
    };
  }
  return { state: 'idle', doing: 'idle', lastSeen };
}

/** "3 workers online, 1 gone". */
export function summarizeWorkers(workers: readonly WorkerInfo[]): string {
  const online = workers.filter((worker) => worker.status === 'ONLINE').length;
  const gone = workers.length - online;
  return `${online} worker${online === 1 ? '' : 's'} online` + (gone === 0 ? '' : `, ${gone} gone`);
}
