/**
 * Job control against the real stack through Caddy (three API servers, one worker running the
 * tiny model, each denoising step paced to at least STEP_MS, so that a job lasts long enough to
 * be followed and cancelled): time remaining, cancel, priorities, retry, batches and webhooks.
 * API keys are on, one key per test so that each has its own rate limit. No check depends on how
 * long something took: what the machine's load can change is measured by `npm run bench --
 * --only jobs`.
 *
 * One stack for the file (job-control/harness.ts); the tests are in job-control/, by subject.
 */
import { describe } from 'vitest';
import { cancelAndRetry } from './job-control/cancel-retry.ts';
import { theCommandLine } from './job-control/command-line.ts';
import { prioritiesAndBatches } from './job-control/priorities-batches.ts';
import { timeRemaining } from './job-control/time-remaining.ts';
import { webhooks } from './job-control/webhooks.ts';
import { useJobControlStack } from './job-control/harness.ts';

useJobControlStack();

describe('time remaining', timeRemaining);
describe('cancel and retry', cancelAndRetry);
describe('priorities and batches', prioritiesAndBatches);
describe('webhooks', webhooks);
describe('the command line', theCommandLine);
