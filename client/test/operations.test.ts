import { typeDefs } from '@zeus/schema';
import { buildSchema, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  CANCEL_JOB_MUTATION,
  JOB_ESTIMATE_QUERY,
  JOB_UPDATED_SUBSCRIPTION,
  RETRY_JOB_MUTATION,
  SUBMIT_BATCH_MUTATION,
  JOBS_QUERY,
  MODEL_RULES_QUERY,
  SUBMIT_PROMPT_MUTATION,
  SYSTEM_QUERY,
} from '../src/api/operations.ts';

describe('the web app’s operations', () => {
  const schema = buildSchema(typeDefs);
  it.each([
    ['ModelRules', MODEL_RULES_QUERY],
    ['System', SYSTEM_QUERY],
    ['Jobs', JOBS_QUERY],
    ['SubmitPrompt', SUBMIT_PROMPT_MUTATION],
    ['JobUpdated', JOB_UPDATED_SUBSCRIPTION],
    ['SubmitBatch', SUBMIT_BATCH_MUTATION],
    ['CancelJob', CANCEL_JOB_MUTATION],
    ['RetryJob', RETRY_JOB_MUTATION],
    ['JobEstimate', JOB_ESTIMATE_QUERY],
  ])('%s is valid against schema.graphql', (_name, document) => {
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });
});
