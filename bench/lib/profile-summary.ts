/**
 * Where a process's CPU went, from its profile: self time by function and by package (or Go
 * package, or Node's own modules), and time on the stack by package, each also per request.
 * Pure functions over the profiles' data: V8's `.cpuprofile` (Node's inspector), Go's pprof
 * (Caddy's `/debug/pprof/profile`, decoded by pprof-format). Redis's are redis-summary.ts.
 */
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

export interface ProfileRow {
  readonly name: string;
  readonly selfMs: number;
  /** Of the process's busy time (everything sampled but idle). */
  readonly selfPercent: number;
  /** Self time divided by the requests of the run (all of them, not this process's share). */
  readonly selfUsPerRequest: number;
  /** Time with this on the stack at all (packages only), as a share of busy time. */
  readonly totalPercent?: number;
}

export interface ProfileSummary {
  readonly process: string;
  readonly kind: 'node' | 'go';
  /** Wall-clock seconds the profile covers. */
  readonly seconds: number;
  /**
   * CPU time: the process's own, measured from /proc over the profiled run, where given
   * (`cpuMs`); otherwise the profile's. V8 samples by the wall clock, so its non-idle time
   * includes time the process waited for a core: on a busy machine, far more than its CPU.
   * Every row's milliseconds are the profile's shares of this.
   */
  readonly busyMs: number;
  /** The profile's own non-idle time, before scaling to `busyMs`. */
  readonly sampledMs: number;
  readonly requests: number;
  readonly busyUsPerRequest: number;
  /** Self time by package / module, largest first. */
  readonly byPackage: readonly ProfileRow[];
  /** Self time by function, largest first. */
  readonly byFunction: readonly ProfileRow[];
}

/** A V8 CPU profile as the inspector's `Profiler.stop` returns it. */
export interface V8Profile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface Frame {
  readonly function: string;
  readonly group: string;
}

const V8_SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/**
 * What a script URL belongs to: an npm package, one of Node's own modules (`node:net`,
 * `node:streams`), a file of the repository (relative to `root`), or `(native)`.
 */
export function moduleOf(url: string, root?: string): string {
  if (url === '') return '(native)';
  const inModules = url.lastIndexOf('/node_modules/');
  if (inModules >= 0) {
    const [scope, name] = url.slice(inModules + '/node_modules/'.length).split('/');
    return scope?.startsWith('@') === true ? `${scope}/${name ?? ''}` : (scope ?? url);
  }
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).replace(/^internal\//, '');
    return `node:${path.split('/')[0] ?? path}`;
  }
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  if (root !== undefined && path.startsWith(`${root}/`)) return path.slice(root.length + 1);
  return path;
}

/** Go's package of a function name (`net/http.(*conn).serve` → `net/http`). */
export function goPackageOf(functionName: string): string {
  const slash = functionName.lastIndexOf('/');
  const dot = functionName.indexOf('.', slash + 1);
  const name = dot < 0 ? functionName : functionName.slice(0, dot);
  return name.replace(/^github\.com\/caddyserver\/caddy\/v2\//, 'caddy/');
}

class Tally {
  readonly self = new Map<string, number>();
  readonly total = new Map<string, number>();
  busy = 0;

  /** One sample of `ms`, its frames leaf first. */
  add(frames: readonly Frame[], ms: number): void {
    const leaf = frames[0];
    if (leaf === undefined) return;
    this.busy += ms;
    const selfKey = `${leaf.function}\u0000${leaf.group}`;
    this.self.set(selfKey, (this.self.get(selfKey) ?? 0) + ms);
    for (const group of new Set(frames.map((frame) => frame.group))) {
      this.total.set(group, (this.total.get(group) ?? 0) + ms);
    }
  }

  summary(
    process: string,
    kind: ProfileSummary['kind'],
    seconds: number,
    requests: number,
    top: number,
    cpuMs: number | undefined,
  ): ProfileSummary {
    const scale = cpuMs === undefined || this.busy === 0 ? 1 : cpuMs / this.busy;
    const row = (name: string, selfMs: number, totalMs?: number): ProfileRow => ({
      name,
      selfMs: round(selfMs * scale, 1),
      selfPercent: round((100 * selfMs) / Math.max(this.busy, 1e-9), 1),
      selfUsPerRequest: round((selfMs * scale * 1000) / Math.max(requests, 1), 2),
      ...(totalMs === undefined
        ? {}
        : { totalPercent: round((100 * totalMs) / Math.max(this.busy, 1e-9), 1) }),
    });
    const selfByGroup = new Map<string, number>();
    for (const [key, ms] of this.self) {
      const group = key.split('\u0000')[1] ?? '';
      selfByGroup.set(group, (selfByGroup.get(group) ?? 0) + ms);
    }
    const largest = (map: ReadonlyMap<string, number>): [string, number][] =>
      [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
    return {
      process,
      kind,
      seconds: round(seconds, 2),
      busyMs: round(this.busy * scale, 1),
      sampledMs: round(this.busy, 1),
      requests,
      busyUsPerRequest: round((this.busy * scale * 1000) / Math.max(requests, 1), 1),
      byPackage: largest(selfByGroup).map(([group, ms]) => row(group, ms, this.total.get(group))),
      byFunction: largest(this.self).map(([key, ms]) => {
        const [name, group] = key.split('\u0000');
        return row(`${name ?? ''} (${group ?? ''})`, ms);
      }),
    };
  }
}

/**
 * A Node process's profile: each sample lasts until the next one; `(idle)` is left out of busy
 * time, `(program)` (V8 outside JavaScript: system calls, the event loop) and
 * `(garbage collector)` stay in, as packages of their own.
 */
export function summarizeV8Profile(
  profile: V8Profile,
  options: {
    readonly process: string;
    readonly requests: number;
    /** The process's CPU over the profile, from /proc: the samples' shares are taken of it. */
    readonly cpuMs?: number;
    readonly root?: string;
    readonly top?: number;
  },
): ProfileSummary {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stacks = new Map<number, Frame[]>();
  const stackOf = (id: number): Frame[] => {
    const known = stacks.get(id);
    if (known !== undefined) return known;
    const frames: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || frame.functionName === '(root)') continue;
      const special = V8_SPECIAL.has(frame.functionName);
      const group = special ? frame.functionName : moduleOf(frame.url, options.root);
      const name = special
        ? frame.functionName
        : `${frame.functionName === '' ? '(anonymous)' : frame.functionName}:${frame.lineNumber + 1}`;
      frames.push({ function: name, group });
    }
    stacks.set(id, frames);
    return frames;
  };
  const tally = new Tally();
  const { samples, timeDeltas } = profile;
  const meanDelta =
    samples.length === 0 ? 0 : (profile.endTime - profile.startTime) / samples.length;
  for (let i = 0; i < samples.length; i += 1) {
    const frames = stackOf(samples[i] ?? 0);
    if (frames[0]?.group === '(idle)') continue;
    tally.add(frames, (timeDeltas[i + 1] ?? meanDelta) / 1000);
  }
  return tally.summary(
    options.process,
    'node',
    (profile.endTime - profile.startTime) / 1e6,
    options.requests,
    options.top ?? 12,
    options.cpuMs,
  );
}

/** Caddy's CPU profile (gzipped pprof protobuf, as `/debug/pprof/profile` sends it). */
export function summarizeGoProfile(
  gzipped: Uint8Array,
  options: {
    readonly process: string;
    readonly requests: number;
    /** Caddy's CPU over the profile, from /proc (Go's sampling misses some: up to a third here). */
    readonly cpuMs?: number;
    readonly top?: number;
  },
): ProfileSummary {
  const profile = Profile.decode(gunzipSync(gzipped));
  const strings = profile.stringTable.strings;
  const valueIndex = profile.sampleType.findIndex((type) => strings[Number(type.type)] === 'cpu');
  if (valueIndex < 0) throw new Error('Not a CPU profile (no "cpu" sample type).');
  const functions = new Map(
    profile.function.map((fn) => [Number(fn.id), strings[Number(fn.name)] ?? '?']),
  );
  const locations = new Map(
    profile.location.map((location) => [
      Number(location.id),
      // Inlined calls first: the last line of a location is the function it was inlined into.
      location.line.map((line): Frame => {
        const name = functions.get(Number(line.functionId)) ?? '?';
        return { function: name, group: goPackageOf(name) };
      }),
    ]),
  );
  const tally = new Tally();
  for (const sample of profile.sample) {
    const frames = sample.locationId.flatMap((id) => locations.get(Number(id)) ?? []);
    tally.add(frames, Number(sample.value[valueIndex] ?? 0) / 1e6);
  }
  return tally.summary(
    options.process,
    'go',
    Number(profile.durationNanos) / 1e9,
    options.requests,
    options.top ?? 12,
    options.cpuMs,
  );
}

/** Profiles of processes of one kind (the three API servers) added up into one. */
export function mergeSummaries(
  process: string,
  summaries: readonly ProfileSummary[],
): ProfileSummary {
  const first = summaries[0];
  if (first === undefined) throw new Error('Nothing to merge.');
  const busyMs = summaries.reduce((sum, s) => sum + s.busyMs, 0);
  const sampledMs = summaries.reduce((sum, s) => sum + s.sampledMs, 0);
  const merge = (pick: (s: ProfileSummary) => readonly ProfileRow[]): ProfileRow[] => {
    const rows = new Map<string, { self: number; total: number | undefined }>();
    for (const summary of summaries) {
      for (const row of pick(summary)) {
        const known = rows.get(row.name) ?? { self: 0, total: undefined };
        known.self += row.selfMs;
        if (row.totalPercent !== undefined) {
          known.total = (known.total ?? 0) + (row.totalPercent * summary.busyMs) / 100;
        }
        rows.set(row.name, known);
      }
    }
    return [...rows]
      .sort((a, b) => b[1].self - a[1].self)
      .slice(0, Math.max(...summaries.map((s) => pick(s).length)))
      .map(([name, { self, total }]) => ({
        name,
        selfMs: round(self, 1),
        selfPercent: round((100 * self) / Math.max(busyMs, 1e-9), 1),
        selfUsPerRequest: round((self * 1000) / Math.max(first.requests, 1), 2),
        ...(total === undefined ? {} : { totalPercent: round((100 * total) / busyMs, 1) }),
      }));
  };
  return {
    process,
    kind: first.kind,
    seconds: first.seconds,
    busyMs: round(busyMs, 1),
    sampledMs: round(sampledMs, 1),
    requests: first.requests,
    busyUsPerRequest: round((busyMs * 1000) / Math.max(first.requests, 1), 1),
    byPackage: merge((s) => s.byPackage),
    byFunction: merge((s) => s.byFunction),
  };
}

/** A profile summary as a few lines of text: busy time, then the largest packages and functions. */
export function formatSummary(summary: ProfileSummary, rows = 6): string[] {
  const lines = [
    `${summary.process}: ${summary.busyUsPerRequest} µs CPU per request ` +
      `(${summary.busyMs} ms in ${summary.seconds} s, ${summary.requests} requests` +
      `${summary.sampledMs === summary.busyMs ? '' : `; ${summary.sampledMs} ms sampled busy`})`,
  ];
  for (const row of summary.byPackage.slice(0, rows)) {
    lines.push(
      `  ${row.selfPercent.toFixed(1).padStart(5)}% self ${String(row.selfUsPerRequest).padStart(6)} µs/req` +
        `${row.totalPercent === undefined ? '' : ` (on stack ${row.totalPercent}%)`}  ${row.name}`,
    );
  }
  lines.push('  top functions (self):');
  for (const row of summary.byFunction.slice(0, rows)) {
    lines.push(`  ${row.selfPercent.toFixed(1).padStart(5)}%  ${row.name}`);
  }
  return lines;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
