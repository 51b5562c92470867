/**
 * The unit tier's guard (tests/unit-guard.ts, set up before every unit test file): what a unit
 * test may not do is refused with an error naming the tier rule, caught or not.
 */
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { takeRefusals } from './unit-guard.ts';

afterEach(() => {
  // Refused on purpose here: not held against the test.
  takeRefusals();
});

describe('the unit tier', () => {
  it.each([
    ['start a process', () => spawn('true')],
    ['start a thread', () => new Worker('0', { eval: true })],
    ['open a socket', () => createConnection({ port: 6379, host: '127.0.0.1' })],
    ['listen on a socket', () => createServer().listen(0)],
    [
      'run a model in ONNX Runtime',
      async () => {
        const ort = await import('onnxruntime-node');
        return ort.InferenceSession.create(new Uint8Array());
      },
    ],
  ])('refuses to %s', async (what, attempt) => {
    await expect(async () => {
      await attempt();
    }).rejects.toThrow(`A unit test may not ${what}`);
  });

  it('fails a test whose code swallowed the refusal', () => {
    try {
      spawn('true');
    } catch {
      // What code under test might do.
    }
    expect(takeRefusals()).toEqual([
      expect.stringMatching(/^A unit test may not start a process .*integration tier/),
    ]);
  });

  it('lets pure code import ONNX Runtime', async () => {
    const ort = await import('onnxruntime-node');
    expect(new ort.Tensor('float32', [1, 2], [2]).dims).toEqual([2]);
  });
});
