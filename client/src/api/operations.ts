/**
 * The GraphQL operations the web app sends, with the TypeScript shapes of their results. Every
 * operation that returns a job selects `JobFields`, so a `jobUpdated` event refreshes everything
 * the page shows about that job in Apollo's normalized cache.
 */
import { gql, type TypedDocumentNode } from '@apollo/client';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export type JobStage =
  'QUEUED' | 'LOADING_MODEL' | 'ENCODING_PROMPT' | 'DENOISING' | 'DECODING' | 'SAVING' | 'DONE';

export interface GenerationSettings {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
  readonly frameRate: number;
  readonly seed: number;
  /** Whether live previews are made (absent in older fixtures: on). */
  readonly preview?: boolean;
  /** Image-to-video: the uploaded first frame; null for text-to-video. */
  readonly image?: FirstFrameImage | null;
}

/** What was uploaded as an image-to-video job's first frame. */
export interface FirstFrameImage {
  readonly uploadId: string;
  readonly type: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

export interface JobError {
  readonly code: string;
  readonly message: string;
}

export interface Job {
  readonly __typename?: 'Job';
  readonly id: string;
  readonly status: JobStatus;
  readonly stage: JobStage;
  readonly progress: number;
  readonly step: number;
  readonly totalSteps: number;
  readonly queuePosition: number | null;
  readonly videoUrl: string | null;
  /** The latest live preview (a small JPEG), while and after the job runs; null without. */
  readonly previewUrl?: string | null;
  /** A still of the finished video (its first frame); null before, or when there is none. */
  readonly posterUrl?: string | null;
  readonly error: JobError | null;
  readonly settings: GenerationSettings;
  readonly attempts: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  /** Higher runs first (-10 to 10). */
  readonly priority: number;
  /** The server's estimate of when the job finishes; null without one. */
  readonly estimatedFinishAt: string | null;
  /** When a queued job is expected to start. */
  readonly estimatedStartAt: string | null;
  /** When the job and its video are removed (`ZEUS_RETENTION`); null: kept. */
  readonly expiresAt: string | null;
  /** The job this one retries. */
  readonly retryOf: string | null;
  /** The batch it was submitted in. */
  readonly batchId: string | null;
}

/** `PromptInput`: every setting but `prompt` may be left out to get the model's default. */
export interface PromptInput {
  readonly prompt: string;
  /** Live previews (default on). */
  readonly preview?: boolean;
  /** Image-to-video: an upload's id (`POST /uploads`). */
  readonly imageId?: string;
  readonly negativePrompt?: string;
  readonly width?: number;
  readonly height?: number;
  readonly numFrames?: number;
  readonly frameRate?: number;
  readonly seed?: number;
  /** -10 to 10; 0 when absent. */
  readonly priority?: number;
}

/** `BatchInput`: the shared settings, then more prompts and the seeds or count of each. */
export interface BatchInput {
  readonly settings: PromptInput;
  readonly prompts?: readonly string[];
  readonly seeds?: readonly number[];
  readonly count?: number;
}

export interface Batch {
  readonly __typename?: 'Batch';
  readonly id: string;
  readonly jobs: readonly Job[];
  readonly createdAt: string;
}

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** What a job gets when `PromptInput` leaves a setting out (a missing seed is drawn at random). */
export interface GenerationDefaults {
  readonly negativePrompt: string;
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
  readonly frameRate: number;
}

/** A shape and the size the model makes it at. */
export interface SizePreset {
  /** `16:9` */
  readonly aspect: string;
  readonly width: number;
  readonly height: number;
}

export interface ModelRules {
  readonly model: string;
  readonly defaults: GenerationDefaults;
  readonly sizeMultiple: number;
  readonly width: IntRange;
  readonly height: IntRange;
  readonly frameStep: number;
  readonly numFrames: IntRange;
  readonly frameRate: IntRange;
  readonly seed: IntRange;
  readonly maxPromptTokens: number;
  readonly maxPromptChars: number;
  readonly maxLatentTokens: number;
  readonly steps: number;
  /** `PromptInput` settings the model accepts but does not use (the form leaves them out). */
  readonly ignoredSettings: readonly string[];
  /** A size for each common shape, the form's presets. */
  readonly sizePresets: readonly SizePreset[];
}

export type ModelState = 'FAILED' | 'DOWNLOADING' | 'CONVERTING' | 'LOADING' | 'READY';

export interface ModelStatus {
  readonly state: ModelState;
  readonly message: string;
  readonly progress: number | null;
}

export interface SystemStatus {
  readonly queueLength: number;
  readonly maxQueued: number;
  readonly running: number;
  readonly workersOnline: number;
  readonly modelReady: boolean;
  readonly model: string;
  /** The largest first-frame image accepted, in bytes (queries that leave it out get undefined). */
  readonly maxUploadBytes?: number;
  /** The most jobs one batch may have (queries that leave it out get undefined). */
  readonly maxBatch?: number;
  /** How long finished jobs are kept, in seconds; null: for ever. */
  readonly retentionSeconds?: number | null;
  /** Where the workers are with the model (queries that leave it out get undefined). */
  readonly modelStatus?: ModelStatus | null;
}

export interface JobEdge {
  readonly __typename?: 'JobEdge';
  readonly cursor: string;
  readonly node: Job;
}

export interface JobConnection {
  readonly __typename?: 'JobConnection';
  readonly edges: readonly JobEdge[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
  readonly totalCount: number;
}

const JOB_FIELDS = gql`
  fragment JobFields on Job {
    id
    status
    stage
    progress
    step
    totalSteps
    queuePosition
    videoUrl
    previewUrl
    posterUrl
    error {
      code
      message
    }
    settings {
      prompt
      negativePrompt
      width
      height
      numFrames
      frameRate
      seed
      preview
      image {
        uploadId
        type
        width
        height
        bytes
      }
    }
    attempts
    createdAt
    startedAt
    finishedAt
    updatedAt
    priority
    estimatedStartAt
    estimatedFinishAt
    expiresAt
    retryOf
    batchId
  }
`;

export const MODEL_RULES_QUERY: TypedDocumentNode<{ modelRules: ModelRules }> = gql`
  query ModelRules {
    modelRules {
      model
      defaults {
        negativePrompt
        width
        height
        numFrames
        frameRate
      }
      sizeMultiple
      width {
        min
        max
      }
      height {
        min
        max
      }
      frameStep
      numFrames {
        min
        max
      }
      frameRate {
        min
        max
      }
      seed {
        min
        max
      }
      maxPromptTokens
      maxPromptChars
      maxLatentTokens
      steps
      ignoredSettings
      sizePresets {
        aspect
        width
        height
      }
    }
  }
`;

export const SYSTEM_QUERY: TypedDocumentNode<{ system: SystemStatus }> = gql`
  query System {
    system {
      queueLength
      maxQueued
      running
      workersOnline
      modelReady
      model
      maxUploadBytes
      maxBatch
      retentionSeconds
      modelStatus {
        state
        message
        progress
      }
    }
  }
`;

export const JOBS_QUERY: TypedDocumentNode<
  { jobs: JobConnection },
  { first: number; after?: string | null; search?: string }
> = gql`
  query Jobs($first: Int!, $after: String, $search: String) {
    jobs(first: $first, after: $after, search: $search) {
      edges {
        cursor
        node {
          ...JobFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
  ${JOB_FIELDS}
`;

/** One job, for its own page (`/jobs/<id>`). */
export const JOB_QUERY: TypedDocumentNode<{ job: Job }, { id: string }> = gql`
  query Job($id: ID!) {
    job(id: $id) {
      ...JobFields
    }
  }
  ${JOB_FIELDS}
`;

export const SUBMIT_PROMPT_MUTATION: TypedDocumentNode<
  { submitPrompt: Job },
  { input: PromptInput }
> = gql`
  mutation SubmitPrompt($input: PromptInput!) {
    submitPrompt(input: $input) {
      ...JobFields
    }
  }
  ${JOB_FIELDS}
`;

export const JOB_UPDATED_SUBSCRIPTION: TypedDocumentNode<{ jobUpdated: Job }, { id: string }> = gql`
  subscription JobUpdated($id: ID!) {
    jobUpdated(id: $id) {
      ...JobFields
    }
  }
  ${JOB_FIELDS}
`;

export const SUBMIT_BATCH_MUTATION: TypedDocumentNode<
  { submitBatch: Batch },
  { input: BatchInput }
> = gql`
  mutation SubmitBatch($input: BatchInput!) {
    submitBatch(input: $input) {
      id
      createdAt
      jobs {
        ...JobFields
      }
    }
  }
  ${JOB_FIELDS}
`;

export const CANCEL_JOB_MUTATION: TypedDocumentNode<{ cancelJob: Job }, { id: string }> = gql`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      ...JobFields
    }
  }
  ${JOB_FIELDS}
`;

export const RETRY_JOB_MUTATION: TypedDocumentNode<{ retryJob: Job }, { id: string }> = gql`
  mutation RetryJob($id: ID!) {
    retryJob(id: $id) {
      ...JobFields
    }
  }
  ${JOB_FIELDS}
`;

/**
 * A queued job's place and estimates, asked for now and then: its subscription only sends a
 * change of place, while the estimate moves with the jobs ahead of it.
 */
export const JOB_ESTIMATE_QUERY: TypedDocumentNode<
  {
    job: Pick<
      Job,
      '__typename' | 'id' | 'queuePosition' | 'estimatedStartAt' | 'estimatedFinishAt'
    >;
  },
  { id: string }
> = gql`
  query JobEstimate($id: ID!) {
    job(id: $id) {
      id
      queuePosition
      estimatedStartAt
      estimatedFinishAt
    }
  }
`;
