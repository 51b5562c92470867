/**
 * The documents of the first screen's requests (boot/first-requests.ts says which a page sends):
 * the app asks for them at once (prefetch.ts), and the build prints them into the boot script
 * (boot-script.ts), so both send the same text.
 */
import type { DocumentNode } from 'graphql';
import type { FirstScreen } from '../boot/first-requests.ts';
import { JOB_QUERY, JOBS_QUERY, MODEL_RULES_QUERY, SYSTEM_QUERY } from './operations.ts';
import { WORKERS_QUERY } from './workers.ts';

export const FIRST_SCREEN_DOCUMENTS: FirstScreen<DocumentNode> = {
  jobs: JOBS_QUERY,
  job: JOB_QUERY,
  modelRules: MODEL_RULES_QUERY,
  system: SYSTEM_QUERY,
  workers: WORKERS_QUERY,
};
