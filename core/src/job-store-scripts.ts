/**
 * The job store's Lua scripts (job-store.ts): each change to the job records, the sorted sets
 * that index them and the channels that announce them runs as one script, so it is one atomic
 * step in Redis.
 */

/**
 * Admits jobs only while the queue has room for all of them (a batch is all or nothing): the
 * check and the inserts are one step, so concurrent submissions on several servers cannot
 * overfill the queue. Each job gets the next submission order (its history score) and a queue
 * score from its priority (ARGV offset + order, see priority.ts); a job with an owner also goes
 * into its owner's history, and its prompt into the search index (job-search.ts). A batch
 * record (ARGV[5], unless empty) is stored with them.
 *   KEYS: queued, history, counter, batch, owner history, prompt index, then each job's key
 *   ARGV: maxQueued, queue channel, count, has owner, batch JSON, then per job: id, JSON,
 *         offset, search text
 * Returns each job's queue position, or -1 when the queue is full.
 */
export const ADMIT_SCRIPT = `
local queued, history, counter, batchKey, ownerHistory = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local promptIndex = KEYS[6]
local maxQueued, queueChannel, count = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local hasOwner, batchJson = ARGV[4] == '1', ARGV[5]
if redis.call('ZCARD', queued) + count > maxQueued then return -1 end
local ids = {}
for i = 1, count do
  local at = 2 + i * 4
  local jobId, jobJson, offset, text = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]), ARGV[at + 3]
  local order = redis.call('INCR', counter)
  redis.call('SET', KEYS[6 + i], jobJson)
  redis.call('ZADD', history, order, jobId)
  redis.call('HSET', promptIndex, jobId, text)
  if hasOwner then redis.call('ZADD', ownerHistory, order, jobId) end
  redis.call('ZADD', queued, offset + order, jobId)
  ids[i] = jobId
end
if batchJson ~= '' then redis.call('SET', batchKey, batchJson) end
redis.call('PUBLISH', queueChannel, '{"reason":"submitted"}')
local positions = {}
for i = 1, count do positions[i] = redis.call('ZRANK', queued, ids[i]) + 1 end
return positions
`;

/**
 * Replaces a job record only if it is still exactly what the caller read (compare-and-set),
 * keeps the queued and running sets in step with the new status, and publishes the new record.
 * A webhook event the change makes (ARGV[8], unless empty) goes into the outbox in the same
 * step, so it exists exactly when the change does.
 * Returns 0 when the record changed in between, so the caller reads it again and retries.
 */
export const UPDATE_SCRIPT = `
local jobKey, queued, running, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expected, jobJson, jobId, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jobChannel, queueChannel = ARGV[5], ARGV[6]
local eventId, delivery, outboxChannel = ARGV[7], ARGV[8], ARGV[9]
if redis.call('GET', jobKey) ~= expected then return 0 end
redis.call('SET', jobKey, jobJson)
local leftQueue = 0
if status ~= 'QUEUED' then leftQueue = redis.call('ZREM', queued, jobId) end
if status == 'RUNNING' then
  redis.call('SADD', running, jobId)
else
  redis.call('SREM', running, jobId)
end
redis.call('PUBLISH', jobChannel, jobJson)
if leftQueue == 1 then redis.call('PUBLISH', queueChannel, '{"reason":"started"}') end
if delivery ~= '' then
  redis.call('HSET', outbox, eventId, delivery)
  redis.call('PUBLISH', outboxChannel, eventId)
end
return 1
`;

/**
 * Removes a finished job's records (retention): only if the record is still exactly what the
 * sweeper read, so a job cannot be removed on a stale reading. The job's copy of its first-frame
 * image goes with it: a FAILED or CANCELLED job keeps its copy until then, for `retryJob`.
 *   KEYS: job, history, owner history (or history again), webhook deliveries, first-frame image,
 *         prompt index
 *   ARGV: expected record, job id
 */
export const REMOVE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[6], ARGV[2])
return 1
`;

/** Records a webhook delivery attempt on a job that still exists, keeping the latest 100. */
export const RECORD_DELIVERY_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -100, -1)
return 1
`;
