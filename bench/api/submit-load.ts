/**
 * Load generator for the submit benchmark, in its own process: autocannon sends the
 * `submitPrompt` mutation over `connections` keep-alive connections for `duration` seconds
 * and reports what it measured. A response that is not a queued job (a GraphQL error such as
 * QUEUE_FULL, or a non-JSON body) counts as an error, as do non-2xx answers and socket errors.
 *
 *   argv: <url> <connections> <duration seconds> [<Unix socket to send it through>]
 */
import autocannon from 'autocannon';
import { reportResult, runChildMain, send } from '../lib/child.ts';

export interface SubmitLoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyMaxMs: number;
  /** Answers that were not a queued job (non-2xx included), socket errors and timeouts. */
  readonly errors: number;
  /** Answers that were a queued job. */
  readonly accepted: number;
  readonly durationSeconds: number;
  /** CPU seconds the load generator itself used. */
  readonly cpuSeconds: number;
}

export const SUBMIT_BODY = JSON.stringify({
  query:
    'mutation ($input: PromptInput!) { submitPrompt(input: $input) { id status queuePosition settings { seed } } }',
  variables: {
    input: { prompt: 'a red fox running through snow', width: 768, height: 512, numFrames: 121 },
  },
});

/** A queued job's answer, told apart from an error without parsing every body. */
function isQueuedJob(raw: string | Buffer | undefined): boolean {
  const body = typeof raw === 'string' ? raw : (raw?.toString() ?? '');
  return body.startsWith('{"data":{"submitPrompt":{') && body.includes('"status":"QUEUED"');
}

runChildMain(async () => {
  const [url, connections, duration, socketPath = ''] = process.argv.slice(2);
  if (url === undefined || connections === undefined || duration === undefined) {
    throw new Error('usage: submit-load <url> <connections> <duration seconds>');
  }
  send({ type: 'started' });
  const cpuBefore = process.cpuUsage();
  const result = await autocannon({
    url,
    ...(socketPath === '' ? {} : { socketPath }),
    connections: Number(connections),
    duration: Number(duration),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: SUBMIT_BODY,
    // A request still unanswered after 10 s is counted as an error, not waited for.
    timeout: 10,
    // Called for every answer, non-2xx included: each one that is not a queued job is a mismatch.
    verifyBody: isQueuedJob,
  });
  const cpu = process.cpuUsage(cpuBefore);
  reportResult({
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / (result.duration || Number(duration)),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    // autocannon's `errors` are socket errors and timeouts.
    errors: result.errors + result.mismatches,
    accepted: result.requests.total - result.mismatches,
    durationSeconds: result.duration,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  } satisfies SubmitLoadResult);
});
