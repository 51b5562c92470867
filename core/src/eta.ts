/**
 * Time remaining, pure. Workers measure how long each stage of a job takes and keep moving
 * averages per model and size class (the video's latent tokens: what a step's and the decoder's
 * cost depend on). From those and a running job's own measured steps, a worker estimates the
 * seconds left at each progress update; from the same averages, the queue ahead of a job and the
 * workers online, an API server estimates when a queued job will start and finish.
 */

/** One size class's averages (seconds). */
export interface StageTimings {
  /** From the worker taking the job to the first denoising step: prompt encoding, ffmpeg start. */
  readonly setupSeconds: number;
  /** One denoising step. */
  readonly stepSeconds: number;
  /** Decoding the latents into frames and encoding them (the DECODING stage). */
  readonly decodeSeconds: number;
  /** Finishing the MP4 file (the SAVING stage). */
  readonly saveSeconds: number;
  /** Jobs measured so far (the weight of the average grows to EMA_WEIGHT's share). */
  readonly samples: number;
}

/** Timings of one finished job; `setupSeconds` null when the job also loaded the model. */
export interface MeasuredTimings {
  readonly setupSeconds: number | null;
  readonly stepSeconds: number;
  readonly decodeSeconds: number;
  readonly saveSeconds: number;
}

/** Averages by size class (latent tokens). */
export type TimingTable = ReadonlyMap<number, StageTimings>;

/**
 * Weight of the newest job in the moving average once a few are measured: recent jobs count
 * most (a GPU warms up, a neighbour's load comes and goes) without one outlier ruling.
 */
export const EMA_WEIGHT = 0.3;

/** The averages after one more job: a plain mean for the first few, then an EMA. */
export function updateTimings(
  previous: StageTimings | undefined,
  measured: MeasuredTimings,
): StageTimings {
  if (previous === undefined) {
    return {
      setupSeconds: measured.setupSeconds ?? 0,
      stepSeconds: measured.stepSeconds,
      decodeSeconds: measured.decodeSeconds,
      saveSeconds: measured.saveSeconds,
      samples: 1,
    };
  }
  const weight = Math.max(EMA_WEIGHT, 1 / (previous.samples + 1));
  const mix = (old: number, value: number): number => old + weight * (value - old);
  return {
    setupSeconds:
      measured.setupSeconds === null
        ? previous.setupSeconds
        : mix(previous.setupSeconds, measured.setupSeconds),
    stepSeconds: mix(previous.stepSeconds, measured.stepSeconds),
    decodeSeconds: mix(previous.decodeSeconds, measured.decodeSeconds),
    saveSeconds: mix(previous.saveSeconds, measured.saveSeconds),
    samples: previous.samples + 1,
  };
}

/**
 * The averages for a size class: its own when measured, else the nearest measured class's
 * scaled by the ratio of tokens (steps, decoding and saving grow with the video; prompt encoding
 * does not). Null when nothing is measured yet.
 */
export function timingsFor(table: TimingTable, tokens: number): StageTimings | null {
  const exact = table.get(tokens);
  if (exact !== undefined) return exact;
  let nearest: [number, StageTimings] | undefined;
  for (const entry of table) {
    if (
      nearest === undefined ||
      Math.abs(Math.log(entry[0] / tokens)) < Math.abs(Math.log(nearest[0] / tokens))
    ) {
      nearest = entry;
    }
  }
  if (nearest === undefined) return null;
  const [classTokens, timings] = nearest;
  const scale = tokens / classTokens;
  return {
    setupSeconds: timings.setupSeconds,
    stepSeconds: timings.stepSeconds * scale,
    decodeSeconds: timings.decodeSeconds * scale,
    saveSeconds: timings.saveSeconds * scale,
    samples: 0,
  };
}

/** A whole job's expected duration (seconds), from taking it to its MP4. */
export function jobSeconds(timings: StageTimings, totalSteps: number): number {
  return (
    timings.setupSeconds +
    totalSteps * timings.stepSeconds +
    timings.decodeSeconds +
    timings.saveSeconds
  );
}

export interface RunningState {
  readonly stage: 'LOADING_MODEL' | 'ENCODING_PROMPT' | 'DENOISING' | 'DECODING' | 'SAVING';
  /** Denoising steps done. */
  readonly step: number;
  readonly totalSteps: number;
  /** Seconds since the current stage began (for DENOISING: since the last step finished). */
  readonly inStageSeconds: number;
  /** This job's own mean step time so far; null before its first step is done. */
  readonly ownStepSeconds: number | null;
  /** The installation's averages for the job's size; null when none are measured yet. */
  readonly timings: StageTimings | null;
}

/**
 * Seconds left for a running job, or null with nothing to go on. Denoising uses the job's own
 * steps once one is done (the best predictor of the next ones on this worker), the averages
 * before that; the stages after it use the averages. Without any averages yet (the first job of
 * an installation) the decoder is guessed to take one step's time, a rough figure.
 */
export function remainingSeconds(state: RunningState): number | null {
  const { timings, totalSteps } = state;
  const step = state.ownStepSeconds ?? timings?.stepSeconds ?? null;
  const after =
    timings === null ? (step === null ? null : step) : timings.decodeSeconds + timings.saveSeconds;
  const left = (seconds: number): number => Math.max(0, seconds - state.inStageSeconds);
  switch (state.stage) {
    case 'LOADING_MODEL':
      // The load itself is not measured: what follows it is.
      if (timings === null) return null;
      return jobSeconds(timings, totalSteps);
    case 'ENCODING_PROMPT':
      if (timings === null) return null;
      return left(timings.setupSeconds) + totalSteps * timings.stepSeconds + (after ?? 0);
    case 'DENOISING': {
      if (step === null || after === null) return null;
      const stepsLeft = Math.max(0, totalSteps - state.step);
      return Math.max(0, stepsLeft * step - Math.min(state.inStageSeconds, step)) + after;
    }
    case 'DECODING':
      if (timings === null) return null;
      return left(timings.decodeSeconds) + timings.saveSeconds;
    case 'SAVING':
      if (timings === null) return null;
      return left(timings.saveSeconds);
  }
}

/**
 * When each queued job starts, in seconds from now, given how long each worker is still busy
 * (0 for an idle one) and each queued job's expected duration, first in line first: each job
 * goes to the worker that is free first (as the queue hands them out). A job after one whose
 * duration is unknown has no estimate either. No workers: no estimates.
 */
export function queueStarts(
  busyForSeconds: readonly number[],
  durations: readonly (number | null)[],
): (number | null)[] {
  if (busyForSeconds.length === 0) return durations.map(() => null);
  const free = [...busyForSeconds];
  const starts: (number | null)[] = [];
  let known = true;
  for (const duration of durations) {
    if (!known) {
      starts.push(null);
      continue;
    }
    let first = 0;
    for (let i = 1; i < free.length; i++) if ((free[i] ?? 0) < (free[first] ?? 0)) first = i;
    const start = free[first] ?? 0;
    starts.push(start);
    if (duration === null) known = false;
    else free[first] = start + duration;
  }
  return starts;
}

/**
 * How long each worker is still busy: the running jobs' remaining seconds (an unknown one counts
 * as `unknownSeconds`), then idle workers at 0. `workers` counts ready workers, busy or not.
 */
export function workersBusyFor(
  workers: number,
  runningRemaining: readonly (number | null)[],
  unknownSeconds = 0,
): number[] {
  const busy = runningRemaining.map((seconds) => Math.max(0, seconds ?? unknownSeconds));
  const idle = Math.max(0, workers - busy.length);
  if (workers === 0) return [];
  return [...busy, ...Array.from({ length: idle }, () => 0)];
}
