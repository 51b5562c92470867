import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deferred } from '../../tests/helpers/deferred.ts';
import { startTestRedis, type TestRedis } from '../../tests/helpers/redis.ts';
import {
  WebhookConsumer,
  WebhookQueue,
  type WebhookAttempt,
  type WebhookOutcome,
} from './webhook-queue.ts';
import type { WebhookDeliveryRequest } from './webhooks.ts';
import { closeRedis, connectRedis, type Redis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';

let redisServer: TestRedis;
const connections: Redis[] = [];

beforeAll(async () => {
  redisServer = await startTestRedis();
});

afterAll(async () => {
  await Promise.all(connections.map(closeRedis));
  await redisServer.stop();
});

function connect(role: 'requests' | 'background'): Redis {
  const redis = connectRedis(redisServer.url, { name: 'queue-test', role });
  connections.push(redis);
  return redis;
}

let prefixCounter = 0;
function freshKeys(): RedisKeys {
  prefixCounter += 1;
  return new RedisKeys(`queue-test-${prefixCounter}`);
}

describe('WebhookQueue and WebhookConsumer (BullMQ)', () => {
  function request(eventId: string): WebhookDeliveryRequest {
    return {
      url: 'https://example.com/hook',
      event: {
        id: eventId,
        type: 'job.succeeded',
        createdAt: new Date().toISOString(),
        job: {} as WebhookDeliveryRequest['event']['job'],
      },
    };
  }

  it('queues an event once however often it is added, retries with backoff, and gives up when told', async () => {
    const keys = freshKeys();
    const queue = new WebhookQueue(connect('requests'), keys, { attempts: 3, backoffMs: 50 });
    const retried = `${randomUUID()}.5`;
    const refused = `${randomUUID()}.7`;
    await queue.add(request(retried));
    await queue.add(request(retried));
    await queue.add(request(refused));

    const attempts: WebhookAttempt[] = [];
    const finished = deferred();
    const outcomes = (attempt: WebhookAttempt): WebhookOutcome => {
      if (attempt.request.event.id === refused) return { kind: 'give-up', reason: 'private' };
      return attempt.attempt < 3 ? { kind: 'retry', reason: 'HTTP 503' } : { kind: 'delivered' };
    };
    const consumer = new WebhookConsumer(
      connect('background'),
      keys,
      (attempt) => {
        attempts.push(attempt);
        if (attempts.filter((a) => a.request.event.id === retried).length === 3) {
          finished.resolve(undefined);
        }
        return Promise.resolve(outcomes(attempt));
      },
      { concurrency: 2, onError: () => {} },
    );
    await finished.promise;
    await consumer.close();
    const of = (id: string): number[] =>
      attempts.filter((a) => a.request.event.id === id).map((a) => a.attempt);
    expect(of(retried)).toEqual([1, 2, 3]);
    expect(of(refused)).toEqual([1]);
    expect(attempts.every((a) => a.maxAttempts === 3)).toBe(true);
    // Delivered: adding it again does nothing.
    await queue.add(request(retried));
    const again = new WebhookConsumer(
      connect('background'),
      keys,
      (attempt) => {
        attempts.push(attempt);
        return Promise.resolve({ kind: 'delivered' });
      },
      { concurrency: 1, onError: () => {} },
    );
    await again.ready();
    await again.close();
    expect(of(retried)).toEqual([1, 2, 3]);
    await queue.close();
  });
});
