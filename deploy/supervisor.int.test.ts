import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_CONFIG } from '@zeus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Supervisor, type ProcessSpec, type SupervisorEvent } from './supervisor.ts';

let logDir: string;
let supervisor: Supervisor | undefined;

beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'zeus-supervisor-test-'));
});
afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
});
afterAll(async () => {
  await rm(logDir, { recursive: true, force: true });
});

function node(name: string, script: string): ProcessSpec {
  return { name, command: process.execPath, args: ['-e', script], env: {}, cwd: logDir };
}

/** Runs until SIGTERM; says so on the way out. */
const SERVICE = `
  process.on('SIGTERM', () => { console.log('stopping'); process.exit(0); });
  console.log('up');
  setInterval(() => {}, 1000);
`;

function collect(target: Supervisor): SupervisorEvent[] {
  const events: SupervisorEvent[] = [];
  target.onEvent((event) => events.push(event));
  return events;
}

describe('Supervisor', () => {
  it('restarts a process that keeps dying, backing off each time', async () => {
    supervisor = new Supervisor({ logDir, initialBackoffMs: 20, maxBackoffMs: 80 });
    const events = collect(supervisor);
    const fifthStart = supervisor.nextEvent(
      (event) => event.type === 'spawned' && event.starts === 5,
      10_000,
    );
    await supervisor.start(node('crasher', 'process.exit(3)'));
    await fifthStart;
    const delays = events.flatMap((event) =>
      event.type === 'exited' && event.name === 'crasher' ? [event.restartInMs] : [],
    );
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
  });

  it('does not restart a process whose configuration is wrong, and says why', async () => {
    supervisor = new Supervisor({ logDir, initialBackoffMs: 20 });
    const gaveUp = supervisor.nextEvent(
      (event): event is Extract<SupervisorEvent, { type: 'gave-up' }> => event.type === 'gave-up',
      10_000,
    );
    await supervisor.start(
      node(
        'misconfigured',
        `console.error('ZEUS_THING: must be a number'); process.exit(${EXIT_CONFIG})`,
      ),
    );
    const event = await gaveUp;
    expect(event).toMatchObject({ type: 'gave-up', name: 'misconfigured' });
    expect(event.reason).toContain('ZEUS_THING: must be a number');
    expect(supervisor.pid('misconfigured')).toBeUndefined();
  });

  it('brings back a process killed from outside, and restarts one on request', async () => {
    supervisor = new Supervisor({ logDir, initialBackoffMs: 20 });
    const events = collect(supervisor);
    await supervisor.start(node('service', SERVICE));
    await supervisor.waitForOutput('service', /^up$/, 10_000);
    const firstPid = supervisor.pid('service');

    const back = supervisor.nextEvent(
      (event) => event.type === 'spawned' && event.name === 'service',
      10_000,
    );
    supervisor.kill('service', 'SIGKILL');
    await back;
    await supervisor.waitForOutput('service', /^up$/, 10_000);
    const secondPid = supervisor.pid('service');
    expect(secondPid).not.toBe(firstPid);

    await supervisor.restart('service');
    expect(supervisor.pid('service')).not.toBe(secondPid);
    const exits = events.flatMap((event) => (event.type === 'exited' ? [event] : []));
    // Killed: restarted after the backoff. Restarted: stopped with SIGTERM, exited cleanly.
    expect(exits.map(({ code, signal, restartInMs }) => ({ code, signal, restartInMs }))).toEqual([
      { code: null, signal: 'SIGKILL', restartInMs: 20 },
      { code: 0, signal: null, restartInMs: null },
    ]);
  });

  it('leaves a process killed for good down (a machine that went away)', async () => {
    supervisor = new Supervisor({ logDir, initialBackoffMs: 20 });
    await supervisor.start(node('service', SERVICE));
    await supervisor.waitForOutput('service', /^up$/, 10_000);
    const exited = supervisor.nextEvent(
      (event) => event.type === 'exited' && event.name === 'service',
      10_000,
    );
    supervisor.kill('service', 'SIGKILL', { restart: false });
    expect(await exited).toMatchObject({ signal: 'SIGKILL', restartInMs: null });
    expect(supervisor.pid('service')).toBeUndefined();
  });

  it('stops groups in order, and kills what ignores SIGTERM after the grace period', async () => {
    supervisor = new Supervisor({ logDir, stopGraceMs: 300 });
    const events = collect(supervisor);
    const running = supervisor;
    await running.start(node('front', SERVICE));
    await running.start(
      node(
        'stubborn',
        "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);",
      ),
    );
    await running.start(node('store', SERVICE));
    await Promise.all(
      ['front', 'stubborn', 'store'].map((name) => running.waitForOutput(name, /^up$/, 10_000)),
    );
    await running.stop([['front'], ['stubborn'], ['store']]);
    const exits = events.flatMap((event) => (event.type === 'exited' ? [event] : []));
    expect(exits.map((event) => event.name)).toEqual(['front', 'stubborn', 'store']);
    expect(exits.map((event) => event.restartInMs)).toEqual([null, null, null]);
    expect(exits[1]?.signal).toBe('SIGKILL');
    supervisor = undefined;
  });
});
