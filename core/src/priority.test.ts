import { describe, expect, it } from 'vitest';
import { ForbiddenError } from './errors.ts';
import {
  bullmqPriority,
  maxPriorityFor,
  parseKeyPriorities,
  queueScore,
  requirePriorityAllowed,
} from './priority.ts';

describe('priority ordering', () => {
  it('sorts higher priorities first, then by submission, in the queue and in BullMQ alike', () => {
    const jobs = [
      { name: 'a', priority: 0, order: 1 },
      { name: 'b', priority: -3, order: 2 },
      { name: 'c', priority: 5, order: 3 },
      { name: 'd', priority: 0, order: 4 },
      { name: 'e', priority: 10, order: 5 },
      { name: 'f', priority: 5, order: 6 },
      { name: 'g', priority: -10, order: 7 },
    ];
    const byScore = [...jobs]
      .sort((x, y) => queueScore(x.priority, x.order) - queueScore(y.priority, y.order))
      .map((job) => job.name);
    expect(byScore).toEqual(['e', 'c', 'f', 'a', 'd', 'b', 'g']);
    // BullMQ: lower numbers first, FIFO within one number.
    const byBullmq = [...jobs]
      .sort((x, y) => bullmqPriority(x.priority) - bullmqPriority(y.priority) || x.order - y.order)
      .map((job) => job.name);
    expect(byBullmq).toEqual(byScore);
    expect(bullmqPriority(10)).toBe(1);
    expect(bullmqPriority(-10)).toBe(21);
  });

  it('keeps priority 0 scored by its order alone, as queued jobs were before priorities', () => {
    expect(queueScore(0, 42)).toBe(42);
    // Exact integers at the extremes (doubles hold integers up to 2^53).
    const last = 2 ** 40 - 1;
    expect(Number.isSafeInteger(queueScore(10, last))).toBe(true);
    expect(queueScore(10, last)).toBeLessThan(queueScore(9, 1));
    expect(queueScore(-10, 1)).toBeGreaterThan(queueScore(-9, last));
  });
});

describe('who may use priorities', () => {
  it('reads ZEUS_KEY_PRIORITIES', () => {
    expect(parseKeyPriorities('alice:10, render-farm:5')).toEqual(
      new Map([
        ['alice', 10],
        ['render-farm', 5],
      ]),
    );
    expect(() => parseKeyPriorities('alice')).toThrow(/entry 1 must be <key name>:<highest/);
    expect(() => parseKeyPriorities('alice:11,bob:0')).toThrow(
      /entry 1 \(alice\): the priority must be 1 to 10; entry 2 \(bob\)/,
    );
    expect(() => parseKeyPriorities('a:1,a:2')).toThrow(/a is given more than once/);
  });

  it('lets anyone use any priority without keys; with keys, the listed maximum or 0', () => {
    const allowed = new Map([['alice', 5]]);
    expect(maxPriorityFor(null, false, allowed)).toBe(10);
    expect(maxPriorityFor('alice', true, allowed)).toBe(5);
    expect(maxPriorityFor('bob', true, allowed)).toBe(0);
    expect(() => {
      requirePriorityAllowed(-10, 0);
    }).not.toThrow();
    expect(() => {
      requirePriorityAllowed(5, 5);
    }).not.toThrow();
    let refused: unknown;
    try {
      requirePriorityAllowed(6, 5);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect(refused).toMatchObject({
      code: 'FORBIDDEN',
      details: { field: 'priority', maxPriority: 5 },
    });
    expect(() => {
      requirePriorityAllowed(1, 0);
    }).toThrow(/ZEUS_KEY_PRIORITIES/);
  });
});
