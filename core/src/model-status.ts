/**
 * How far a worker is with its model (downloading, converting, loading, ready or failed), as
 * its heartbeat reports it, and the one status the API shows for the service: the most
 * advanced worker's. Pure.
 */

export const MODEL_STATES = ['FAILED', 'DOWNLOADING', 'CONVERTING', 'LOADING', 'READY'] as const;
/** In order of progress: a worker further along is a better answer to "when can I generate?". */
export type ModelState = (typeof MODEL_STATES)[number];

export interface ModelStatus {
  readonly state: ModelState;
  /** What is happening, in words; when FAILED, what went wrong and what to do. */
  readonly message: string;
  /** 0 to 1 within the state, when known. */
  readonly progress: number | null;
}

/** The service's model status from its workers' (null when no worker reports one). */
export function serviceModelStatus(
  workers: readonly { readonly modelReady: boolean; readonly modelStatus?: ModelStatus }[],
): ModelStatus | null {
  const ready = workers.filter((worker) => worker.modelReady).length;
  if (ready > 0) {
    return {
      state: 'READY',
      message: `The model is loaded on ${ready} worker${ready === 1 ? '' : 's'}.`,
      progress: null,
    };
  }
  let best: ModelStatus | null = null;
  for (const { modelStatus } of workers) {
    if (modelStatus === undefined) continue;
    if (best === null || compare(modelStatus, best) > 0) best = modelStatus;
  }
  return best;
}

function compare(a: ModelStatus, b: ModelStatus): number {
  const byState = MODEL_STATES.indexOf(a.state) - MODEL_STATES.indexOf(b.state);
  return byState !== 0 ? byState : (a.progress ?? 0) - (b.progress ?? 0);
}
