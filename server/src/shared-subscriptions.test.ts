import {
  execute,
  GraphQLBoolean,
  GraphQLError,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { ResultStream, sharedSubscribe } from './shared-subscriptions.ts';

interface Tick {
  readonly n: number;
  readonly fail?: boolean;
}

/**
 * A channel's events, handed to every open stream as the same objects (as the relay does), each
 * stream starting with an object of its own (its "current state").
 */
class Hub {
  private readonly streams = new Map<string, Set<(tick: Tick) => void>>();

  open(channel: string): AsyncIterableIterator<Tick> {
    const queue: Tick[] = [{ n: 0 }];
    let waiter: ((tick: Tick | null) => void) | null = null;
    let closed = false;
    const listeners = this.streams.get(channel) ?? new Set();
    this.streams.set(channel, listeners);
    const listener = (tick: Tick): void => {
      if (waiter === null) {
        queue.push(tick);
        return;
      }
      const wake = waiter;
      waiter = null;
      wake(tick);
    };
    listeners.add(listener);
    const close = (): IteratorResult<Tick, undefined> => {
      closed = true;
      listeners.delete(listener);
      waiter?.(null);
      return { done: true, value: undefined };
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: async () => {
        if (closed) return { done: true, value: undefined };
        const queued = queue.shift();
        const tick =
          queued ??
          (await new Promise<Tick | null>((resolve) => {
            waiter = resolve;
          }));
        return tick === null ? close() : { done: false, value: tick };
      },
      return: () => Promise.resolve(close()),
      throw: (error: unknown) => {
        close();
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      },
    };
  }

  publish(channel: string, tick: Tick): void {
    for (const listener of this.streams.get(channel) ?? []) listener(tick);
  }

  openCount(channel: string): number {
    return this.streams.get(channel)?.size ?? 0;
  }
}

function setup(): {
  hub: Hub;
  schema: GraphQLSchema;
  executions: () => number;
  subscribe: ReturnType<typeof sharedSubscribe>;
} {
  const hub = new Hub();
  let executions = 0;
  // Built with graphql's own classes: vitest loads graphql's ES modules, @graphql-tools its
  // CommonJS build, and graphql refuses a schema from the other copy.
  const tickType = new GraphQLObjectType<Tick, { key: string }>({
    name: 'Tick',
    fields: {
      n: { type: new GraphQLNonNull(GraphQLInt) },
      label: {
        type: new GraphQLNonNull(GraphQLString),
        resolve: (tick, _args, context) => {
          if (tick.fail === true) throw new Error(`tick ${tick.n} failed`);
          return `${context.key}:${tick.n}`;
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean } } }),
    subscription: new GraphQLObjectType<unknown, { key: string }>({
      name: 'Subscription',
      fields: {
        ticks: {
          type: new GraphQLNonNull(tickType),
          args: { channel: { type: new GraphQLNonNull(GraphQLString) } },
          subscribe: (_parent, { channel }: { channel: string }, context) => {
            if (context.key === 'nobody') throw new GraphQLError('Forbidden.');
            return hub.open(channel);
          },
          resolve: (tick: unknown) => tick,
        },
      },
    }),
  });
  const subscribe = sharedSubscribe({
    sharingKey: (args) =>
      JSON.stringify([args.variableValues, (args.contextValue as { key: string }).key]),
    execute: (args) => {
      executions += 1;
      return execute(args);
    },
  });
  return { hub, schema, executions: () => executions, subscribe };
}

const QUERY = parse('subscription ($channel: String!) { ticks(channel: $channel) { n label } }');

function args(schema: GraphQLSchema, channel: string, key = 'alice'): ExecutionArgs {
  return {
    schema,
    document: QUERY,
    variableValues: { channel },
    contextValue: { key },
  };
}

async function open(
  subscribe: ReturnType<typeof sharedSubscribe>,
  executionArgs: ExecutionArgs,
): Promise<ResultStream> {
  const result = await subscribe(executionArgs);
  if (!(result instanceof ResultStream)) throw new Error(`not a stream: ${JSON.stringify(result)}`);
  return result;
}

async function take(stream: AsyncIterator<ExecutionResult>): Promise<ExecutionResult> {
  const step = await stream.next();
  if (step.done === true) throw new Error('stream ended early');
  return step.value;
}

async function takeN(stream: AsyncIterator<ExecutionResult>, count: number): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let i = 0; i < count; i += 1) results.push((await take(stream)).data);
  return results;
}

describe('sharedSubscribe', () => {
  it('executes each shared event once for all subscribers, each getting every event in order', async () => {
    const { hub, schema, executions, subscribe } = setup();
    const streams = await Promise.all([1, 2, 3].map(() => open(subscribe, args(schema, 'a'))));
    // The first event is each stream's own current state: executed for each.
    for (const stream of streams) {
      expect((await take(stream)).data).toEqual({ ticks: { n: 0, label: 'alice:0' } });
    }
    expect(executions()).toBe(3);

    for (const n of [1, 2, 3]) hub.publish('a', { n });
    for (const stream of streams) {
      expect(await takeN(stream, 3)).toEqual(
        [1, 2, 3].map((n) => ({ ticks: { n, label: `alice:${n}` } })),
      );
    }
    expect(executions()).toBe(3 + 3);
  });

  it('keeps the others going when one subscriber leaves, and every source closes with its subscriber', async () => {
    const { hub, schema, executions, subscribe } = setup();
    const [first, second, third] = await Promise.all(
      [1, 2, 3].map(() => open(subscribe, args(schema, 'b'))),
    );
    if (first === undefined || second === undefined || third === undefined) throw new Error();
    for (const stream of [first, second, third]) await take(stream);
    expect(hub.openCount('b')).toBe(3);

    // Leaving while waiting for the next event.
    const pending = first.next();
    await first.return();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(hub.openCount('b')).toBe(2);

    hub.publish('b', { n: 1 });
    expect(await takeN(second, 1)).toEqual([{ ticks: { n: 1, label: 'alice:1' } }]);
    expect(await takeN(third, 1)).toEqual([{ ticks: { n: 1, label: 'alice:1' } }]);
    expect(executions()).toBe(3 + 1);

    await second.return();
    await third.return();
    expect(hub.openCount('b')).toBe(0);
    expect(await third.next()).toEqual({ done: true, value: undefined });
  });

  it('shares nothing between different variables or different keys', async () => {
    const { hub, schema, executions, subscribe } = setup();
    const alice = await open(subscribe, args(schema, 'c'));
    const bob = await open(subscribe, args(schema, 'c', 'bob'));
    const otherChannel = await open(subscribe, args(schema, 'd'));
    for (const stream of [alice, bob, otherChannel]) await take(stream);

    const tick = { n: 1 };
    hub.publish('c', tick);
    hub.publish('d', tick);
    expect(await takeN(alice, 1)).toEqual([{ ticks: { n: 1, label: 'alice:1' } }]);
    expect(await takeN(bob, 1)).toEqual([{ ticks: { n: 1, label: 'bob:1' } }]);
    expect(await takeN(otherChannel, 1)).toEqual([{ ticks: { n: 1, label: 'alice:1' } }]);
    expect(executions()).toBe(3 + 3);
  });

  it("gives every subscriber an event's errors, and keeps the stream going", async () => {
    const { hub, schema, executions, subscribe } = setup();
    const streams = await Promise.all([1, 2].map(() => open(subscribe, args(schema, 'e'))));
    for (const stream of streams) await take(stream);
    hub.publish('e', { n: 1, fail: true });
    hub.publish('e', { n: 2 });
    for (const stream of streams) {
      const failed = await take(stream);
      expect(failed.data).toBeNull();
      expect(failed.errors?.map((error) => error.message)).toEqual(['tick 1 failed']);
      expect(await takeN(stream, 1)).toEqual([{ ticks: { n: 2, label: 'alice:2' } }]);
    }
    expect(executions()).toBe(2 + 2);
  });

  it("answers a refused subscription with the resolver's error, per subscriber", async () => {
    const { hub, schema, subscribe } = setup();
    const refused = await subscribe(args(schema, 'f', 'nobody'));
    expect(refused).not.toBeInstanceOf(ResultStream);
    expect((refused as ExecutionResult).errors?.map((error) => error.message)).toEqual([
      'Forbidden.',
    ]);
    expect(hub.openCount('f')).toBe(0);
  });

  it("rejects next() with the source's failure and closes the source when execution throws", async () => {
    const { hub, schema, subscribe } = setup();
    const failing = sharedSubscribe({
      sharingKey: () => 'k',
      execute: () => {
        throw new Error('execution broke');
      },
    });
    const stream = await open(failing, args(schema, 'g'));
    await expect(stream.next()).rejects.toThrow('execution broke');
    expect(hub.openCount('g')).toBe(0);

    const thrown = await open(subscribe, args(schema, 'h'));
    await take(thrown);
    await expect(thrown.throw(new Error('client broke'))).rejects.toThrow('client broke');
    expect(hub.openCount('h')).toBe(0);
  });
});
