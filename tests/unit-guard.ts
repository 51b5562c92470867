/**
 * Set up before every unit test file (vitest.config.ts): a unit test is pure code, so here it
 * may not start a process or a thread, open or listen on a socket (Redis, an HTTP server, a
 * fetch) or run a model in ONNX Runtime. Each of those throws an error that names the tier
 * rule, and the test fails with it even where the code under test catches the error (it is
 * raised again after the test), so a test that needs one is moved to the integration tier
 * (docs/development/testing.md) instead of running, slower and at the mercy of the machine,
 * among the unit tests.
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import workerThreads from 'node:worker_threads';
import { afterEach } from 'vitest';

class NotAUnitTest extends Error {
  constructor(what: string) {
    super(
      `A unit test may not ${what}: it belongs in the integration tier (name it ` +
        '*.int.test.ts, see docs/development/testing.md).',
    );
    this.name = 'NotAUnitTest';
  }
}

/** What the current test tried, to fail it even if the code under test swallowed the error. */
const refused: NotAUnitTest[] = [];

/** A stand-in that refuses, whether called or constructed (`new Worker`). */
function refuse(what: string): () => never {
  return function refusal(): never {
    const error = new NotAUnitTest(what);
    refused.push(error);
    throw error;
  };
}

for (const name of [
  'spawn',
  'spawnSync',
  'exec',
  'execSync',
  'execFile',
  'execFileSync',
  'fork',
] as const) {
  Object.assign(childProcess, { [name]: refuse(`start a process (child_process.${name})`) });
}
Object.assign(workerThreads, { Worker: refuse('start a thread (worker_threads.Worker)') });
net.Socket.prototype.connect = refuse('open a socket (Redis, HTTP, fetch)');
net.Server.prototype.listen = refuse('listen on a socket (a server)');
syncBuiltinESMExports();

// ONNX Runtime may be imported (modules that name its types and providers load its binding),
// but a unit test may not make a session: the binding's InferenceSession refuses.
const dlopen = process.dlopen.bind(process);
process.dlopen = (...args: Parameters<typeof process.dlopen>): void => {
  dlopen(...args);
  const [module, filename] = args as [{ exports: Record<string | symbol, unknown> }, string];
  if (!/onnxruntime_binding/.test(filename)) return;
  const binding = module.exports;
  const session = refuse('run a model in ONNX Runtime');
  module.exports = new Proxy(
    {},
    { get: (_, key) => (key === 'InferenceSession' ? session : binding[key]) },
  );
};

/** What was refused since the last call, forgotten (for this guard's own test). */
export function takeRefusals(): string[] {
  return refused.splice(0).map((error) => error.message);
}

afterEach(() => {
  const first = refused[0];
  refused.length = 0;
  if (first !== undefined) throw first;
});
