/**
 * The workers: each one's machine, device (and why a preferred one was refused), what it is doing and how many jobs it did; gone ones
 * (stopped or lost) stay listed for an hour. Folded by default under a one-line summary.
 */
import { useQuery } from '@apollo/client/react';
import { WORKERS_QUERY } from '../api/workers.ts';
import { describeWorker, summarizeWorkers } from '../workers/describe.ts';

/** Heartbeats come every 5 s: asking more often would show nothing new. */
const WORKERS_POLL_MS = 5_000;

export function WorkersPanel() {
  const { data, error } = useQuery(WORKERS_QUERY, { pollInterval: WORKERS_POLL_MS });
  const workers = data?.workers;
  const now = new Date();
  return (
    <details className="panel workers-panel">
      <summary>
        <h2 id="workers-title">Workers</h2>
        <span className="muted">
          {workers !== undefined
            ? summarizeWorkers(workers)
            : error === undefined
              ? 'loading…'
              : `unknown (${error.message})`}
        </span>
      </summary>
      {workers !== undefined && workers.length === 0 && (
        <p className="muted">No worker has been seen in the last hour.</p>
      )}
      {workers !== undefined && workers.length > 0 && (
        // Focusable, so that the keyboard can scroll it where it is wider than the screen.
        <div className="workers-scroll" tabIndex={0} role="region" aria-labelledby="workers-title">
          <table className="workers" aria-labelledby="workers-title">
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Machine</th>
                <th scope="col">Device</th>
                <th scope="col">Doing</th>
                <th scope="col">Jobs done</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((worker) => {
                const description = describeWorker(worker, now);
                return (
                  <tr key={worker.id} className={`worker-${description.state}`}>
                    <th scope="row">
                      <span className={`worker-dot worker-dot-${description.state}`} aria-hidden />
                      {worker.id}
                    </th>
                    <td>{worker.host}</td>
                    <td>
                      <code>{worker.device}</code>
                      {worker.models
                        .filter((model) => model.provider !== worker.device)
                        .map((model) => (
                          <span key={model.component} className="muted">
                            {' '}
                            ({model.component} on <code>{model.provider}</code>)
                          </span>
                        ))}
                      {worker.deviceNotices.length > 0 && (
                        <ul className="device-notices" aria-label={`${worker.id} device notices`}>
                          {worker.deviceNotices.map((notice) => (
                            <li key={notice} className="warning">
                              {notice}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>{description.doing}</td>
                    <td>{worker.jobsDone}</td>
                    <td>{description.lastSeen}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
}
