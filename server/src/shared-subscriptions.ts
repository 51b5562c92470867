/**
 * Shared execution of subscription events: subscribers that asked the same thing (the same
 * document, operation name and variables, as the same API key) and receive the same event
 * object get one execution's result between them, instead of one graphql-js execution each.
 *
 * Only the execution is shared. Each subscriber keeps its own source stream (its access check,
 * its current state first, its own ordering, back-pressure and end), so what a subscriber sees
 * is what it saw before; the relay hands every subscriber of a job the same object for the same
 * published change (core's job-updates.ts), which is what lets results be shared. An event
 * object seen by one subscriber only (its first, current state) is executed for it alone.
 *
 * A drop-in for graphql-js's `subscribe` (graphql-ws's `subscribe` option): the source stream
 * is created the same way (`createSourceEventStream`, so the field's `subscribe` resolver runs
 * per subscriber), and each event is executed with the event as root value, as graphql-js does.
 */
import {
  createSourceEventStream,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;

export interface SharedSubscriptionsOptions {
  /**
   * What must be equal for two subscribers to be given the same result for the same event:
   * everything the result may depend on besides the event. Null: never shared.
   */
  readonly sharingKey: (args: ExecutionArgs) => string | null;
  /** Executes one event (graphql-js's `execute`; tests count calls through it). */
  readonly execute?: Execute;
}

export type SharedSubscribe = (args: ExecutionArgs) => Promise<ResultStream | ExecutionResult>;

/** A `subscribe` for graphql-ws whose subscribers share each event's execution. */
export function sharedSubscribe(options: SharedSubscriptionsOptions): SharedSubscribe {
  const run = options.execute ?? execute;
  /**
   * Results by event object, then by sharing key. Weak: an entry goes with its event, once no
   * subscriber holds it any more.
   */
  const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();

  return async (args) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const key = options.sharingKey(args);
    const executeEvent = (event: unknown): ExecutionResult | Promise<ExecutionResult> => {
      const eventArgs: ExecutionArgs = { ...args, rootValue: event };
      if (key === null || typeof event !== 'object' || event === null) return run(eventArgs);
      let byKey = results.get(event);
      if (byKey === undefined) {
        byKey = new Map();
        results.set(event, byKey);
      }
      let result = byKey.get(key);
      if (result === undefined) {
        result = run(eventArgs);
        byKey.set(key, result);
      }
      return result;
    };
    return new ResultStream(source[Symbol.asyncIterator](), executeEvent);
  };
}

/**
 * The source's events, each executed. Like graphql-js's own mapping: `return()` and `throw()`
 * reach the source, and a failed execution closes it.
 */
export class ResultStream implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly executeEvent: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    return this.map(await this.source.next());
  }

  async return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (this.source.return === undefined) return { done: true, value: undefined };
    return this.map(await this.source.return());
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (this.source.throw === undefined) throw error;
    return this.map(await this.source.throw(error));
  }

  private async map(
    step: IteratorResult<unknown>,
  ): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (step.done === true) return { done: true, value: undefined };
    try {
      const result = this.executeEvent(step.value);
      // A shared result is usually there already: no extra turn to wait for it.
      return { done: false, value: result instanceof Promise ? await result : result };
    } catch (error) {
      await this.source.return?.();
      throw error;
    }
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}
