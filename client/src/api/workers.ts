/**
 * The `workers` query: every worker seen in the last hour, online or gone. Its own module so the
 * web app's panel and the CLI share one shape.
 */
import { gql, type TypedDocumentNode } from '@apollo/client';
import type { ModelStatus } from './operations.ts';

export type WorkerStatus = 'ONLINE' | 'GONE';

export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  /** `cuda`, `webgpu` or `cpu` once the model is loaded; the setting (`auto`…) before. */
  readonly device: string;
  /** Where each model runs (the text encoder may be on the CPU); empty until loaded. */
  readonly models: readonly {
    readonly component: string;
    readonly provider: string;
    readonly precision: string;
  }[];
  /** Why a preferred device, precision or kernel was refused (e.g. CUDA did not load). */
  readonly deviceNotices: readonly string[];
  readonly model: string;
  readonly status: WorkerStatus;
  readonly ready: boolean;
  readonly modelStatus: ModelStatus | null;
  readonly currentJobId: string | null;
  /** The job it is generating, when the caller may see it. */
  readonly currentJob: {
    readonly id: string;
    readonly progress: number;
    readonly settings: { readonly prompt: string };
  } | null;
  readonly jobsDone: number;
  readonly lastSeenAt: string;
  readonly startedAt: string;
}

/** The query's selection, as text (the CLI sends it over HTTP as it is). */
export const WORKERS_SELECTION = `
  workers {
    id
    host
    device
    models {
      component
      provider
      precision
    }
    deviceNotices
    model
    status
    ready
    modelStatus {
      state
      message
      progress
    }
    currentJobId
    currentJob {
      id
      progress
      settings {
        prompt
      }
    }
    jobsDone
    lastSeenAt
    startedAt
  }
`;

export const WORKERS_QUERY: TypedDocumentNode<{ workers: readonly WorkerInfo[] }> = gql`
  query Workers {
    ${WORKERS_SELECTION}
  }
`;
