/**
 * The whole stack end to end, as users run it (startLocalStack is what `deploy.ts --local`
 * runs): Redis, three API servers behind Caddy, and a worker running tiny-random on ONNX
 * Runtime. Every request goes through Caddy. One stack for the file (stack/harness.ts); the
 * tests are stack/end-to-end.ts and stack/api-examples.ts.
 */
import { describe } from 'vitest';
import { apiExamplesAsWritten } from './stack/api-examples.ts';
import { endToEndThroughCaddy } from './stack/end-to-end.ts';
import { useStack } from './stack/harness.ts';

useStack();

describe('Zeus end to end through Caddy', endToEndThroughCaddy);
describe("the documentation's API examples, as written", apiExamplesAsWritten);
