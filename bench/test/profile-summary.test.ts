/**
 * The profile summaries' arithmetic, on small profiles made here: self time by function and by
 * package, time on the stack, per request; Go's inlined frames.
 */
import { gzipSync } from 'node:zlib';
import { Function, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import {
  goPackageOf,
  mergeSummaries,
  moduleOf,
  summarizeGoProfile,
  summarizeV8Profile,
  type V8Profile,
} from '../lib/profile-summary.ts';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9 });

/** Seven 1 ms samples: two idle, two in graphql's parser, one native write, one in the server's
 * own handler, one garbage collection. */
const V8: V8Profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 6] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('handle', 'file:///repo/server/src/a.ts'), children: [4, 5] },
    { id: 4, callFrame: frame('parse', 'file:///repo/node_modules/graphql/language/parser.js') },
    { id: 5, callFrame: frame('writev') },
    { id: 6, callFrame: frame('(garbage collector)') },
  ],
  startTime: 0,
  endTime: 7_000,
  samples: [2, 4, 4, 5, 3, 6, 2],
  timeDeltas: [0, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
};

describe('summarizeV8Profile', () => {
  const summary = summarizeV8Profile(V8, { process: 'api-1', requests: 10, root: '/repo' });

  it('leaves idle out and divides the busy time by the requests', () => {
    expect(summary).toMatchObject({
      seconds: 0.01,
      busyMs: 5,
      sampledMs: 5,
      busyUsPerRequest: 500,
    });
  });

  it('adds self time up by package and function, with time on the stack', () => {
    expect(summary.byPackage[0]).toEqual({
      name: 'graphql',
      selfMs: 2,
      selfPercent: 40,
      selfUsPerRequest: 200,
      totalPercent: 40,
    });
    const server = summary.byPackage.find((row) => row.name === 'server/src/a.ts');
    // Its own sample, and the three below it.
    expect(server).toMatchObject({ selfMs: 1, totalPercent: 80 });
    expect(summary.byPackage.map((row) => row.name).sort()).toEqual(
      ['(garbage collector)', '(native)', 'graphql', 'server/src/a.ts'].sort(),
    );
    expect(summary.byFunction[0]?.name).toBe('parse:10 (graphql)');
  });

  it("takes the samples' shares of the CPU measured from /proc, when given", () => {
    // V8 samples by the wall clock: a process waiting for a core looks busy in its profile.
    const measured = summarizeV8Profile(V8, { process: 'api-1', requests: 10, cpuMs: 2.5 });
    expect(measured).toMatchObject({ busyMs: 2.5, sampledMs: 5, busyUsPerRequest: 250 });
    expect(measured.byPackage[0]).toMatchObject({
      name: 'graphql',
      selfMs: 1,
      selfPercent: 40,
      selfUsPerRequest: 100,
    });
  });

  it('merges servers into one', () => {
    const merged = mergeSummaries('both', [summary, summary]);
    expect(merged).toMatchObject({ busyMs: 10, busyUsPerRequest: 1_000 });
    expect(merged.byPackage[0]).toMatchObject({ name: 'graphql', selfMs: 4, selfPercent: 40 });
    expect(merged.byPackage[0]?.totalPercent).toBe(40);
  });
});

describe('moduleOf and goPackageOf', () => {
  it('names packages, Node modules, repository files and native code', () => {
    expect(moduleOf('file:///r/node_modules/@apollo/server/dist/esm/x.js')).toBe('@apollo/server');
    expect(moduleOf('file:///r/node_modules/a/node_modules/ioredis/built/x.js')).toBe('ioredis');
    expect(moduleOf('node:internal/streams/writable')).toBe('node:streams');
    expect(moduleOf('node:net')).toBe('node:net');
    expect(moduleOf('file:///r/core/src/job-store.ts', '/r')).toBe('core/src/job-store.ts');
    expect(moduleOf('')).toBe('(native)');
  });

  it("takes Go's package from a function name", () => {
    expect(goPackageOf('net/http.(*conn).serve')).toBe('net/http');
    expect(goPackageOf('runtime.mallocgc')).toBe('runtime');
    expect(
      goPackageOf(
        'github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Handler).ServeHTTP',
      ),
    ).toBe('caddy/modules/caddyhttp/reverseproxy');
  });
});

describe('summarizeGoProfile', () => {
  it("attributes self time to a location's innermost inlined function", () => {
    const strings = new StringTable();
    const fn = (id: number, name: string) =>
      new Function({ id, name: strings.dedup(name), systemName: strings.dedup(name) });
    const profile = new Profile({
      sampleType: [
        new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
        new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
      ],
      function: [fn(1, 'syscall.write'), fn(2, 'internal/poll.(*FD).Write'), fn(3, 'main.main')],
      location: [
        // internal/poll's Write inlined into main.main: one location, innermost line first.
        new Location({ id: 1, line: [new Line({ functionId: 2 }), new Line({ functionId: 3 })] }),
        new Location({ id: 2, line: [new Line({ functionId: 1 })] }),
      ],
      sample: [
        new Sample({ locationId: [2, 1], value: [3, 30_000_000] }),
        new Sample({ locationId: [1], value: [1, 10_000_000] }),
      ],
      stringTable: strings,
      durationNanos: 1_000_000_000,
    });
    const summary = summarizeGoProfile(gzipSync(profile.encode()), {
      process: 'caddy',
      requests: 100,
    });
    expect(summary).toMatchObject({ seconds: 1, busyMs: 40, busyUsPerRequest: 400 });
    expect(summary.byFunction.map((row) => [row.name, row.selfMs])).toEqual([
      ['syscall.write (syscall)', 30],
      ['internal/poll.(*FD).Write (internal/poll)', 10],
    ]);
    expect(summary.byPackage.find((row) => row.name === 'main')).toBeUndefined();
    expect(summary.byPackage.find((row) => row.name === 'internal/poll')?.totalPercent).toBe(100);
  });
});
