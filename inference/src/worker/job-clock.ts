/**
 * Times one job's stages as the worker sees them, to say how long it still needs (published with
 * each progress update as `etaSeconds`) and, once it succeeded, what it took (added to the
 * installation's averages for its size). The arithmetic is core's (eta.ts).
 */
import {
  remainingSeconds,
  type MeasuredTimings,
  type RunningState,
  type StageTimings,
  type WorkStage,
} from '@zeus/core';

export class JobClock {
  private readonly startedAt: number;
  private stage: WorkStage = 'LOADING_MODEL';
  private stageStartedAt: number;
  /** The pipeline loaded the model for this job: its setup time says nothing of the next. */
  private loadedModel = false;
  private denoisingStartedAt: number | null = null;
  private step = 0;
  private lastStepAt: number | null = null;
  private decodingStartedAt: number | null = null;
  private savingStartedAt: number | null = null;

  constructor(
    /** The installation's averages for this job's size; null when none are measured yet. */
    private readonly timings: StageTimings | null,
    private readonly totalSteps: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
    this.stageStartedAt = this.startedAt;
  }

  /** Where the job is: its stage and denoising steps done. */
  get position(): { readonly stage: WorkStage; readonly step: number } {
    return { stage: this.stage, step: this.step };
  }

  /** The job reached `stage` (and `step`). */
  mark(stage: WorkStage, step: number): void {
    const at = this.now();
    if (stage === 'LOADING_MODEL') this.loadedModel = true;
    if (stage !== this.stage) {
      this.stage = stage;
      this.stageStartedAt = at;
      if (stage === 'DENOISING') this.denoisingStartedAt = at;
      if (stage === 'DECODING') this.decodingStartedAt = at;
      if (stage === 'SAVING') this.savingStartedAt = at;
    }
    if (stage === 'DENOISING' && step > this.step) {
      this.step = step;
      this.lastStepAt = at;
    }
  }

  /** Seconds the job still needs, as of now; null with nothing to go on. */
  remaining(): number | null {
    // In denoising, the time since the last step ended: that much of the next one is done.
    const since =
      this.stage === 'DENOISING' ? (this.lastStepAt ?? this.stageStartedAt) : this.stageStartedAt;
    const state: RunningState = {
      stage: this.stage,
      step: this.step,
      totalSteps: this.totalSteps,
      inStageSeconds: Math.max(0, this.now() - since) / 1_000,
      ownStepSeconds: this.ownStepSeconds(),
      timings: this.timings,
    };
    const seconds = remainingSeconds(state);
    return seconds === null ? null : Math.round(seconds * 1_000) / 1_000;
  }

  /** What the finished job took, stage by stage; null when it skipped a stage. */
  measured(): MeasuredTimings | null {
    const end = this.now();
    const step = this.ownStepSeconds();
    if (
      this.denoisingStartedAt === null ||
      step === null ||
      this.decodingStartedAt === null ||
      this.savingStartedAt === null
    ) {
      return null;
    }
    return {
      setupSeconds: this.loadedModel ? null : (this.denoisingStartedAt - this.startedAt) / 1_000,
      stepSeconds: step,
      decodeSeconds: (this.savingStartedAt - this.decodingStartedAt) / 1_000,
      saveSeconds: (end - this.savingStartedAt) / 1_000,
    };
  }

  private ownStepSeconds(): number | null {
    if (this.step < 1 || this.lastStepAt === null || this.denoisingStartedAt === null) return null;
    return (this.lastStepAt - this.denoisingStartedAt) / 1_000 / this.step;
  }
}
