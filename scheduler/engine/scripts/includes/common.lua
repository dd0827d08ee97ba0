-- Helpers shared by every script (expanded in place by scheduler/engine/scripts.ts).

-- Milliseconds since the epoch from the Redis server clock: the one clock all scripts share.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Fencing: the caller must hold the shard's current epoch. Returns an error reply or nil.
local function checkEpoch(epochKey, callerEpoch)
  local current = redis.call('GET', epochKey)
  if current ~= callerEpoch then
    return redis.error_reply('STALE_EPOCH current=' .. tostring(current) .. ' caller=' .. callerEpoch)
  end
  return nil
end

-- Integer to decimal string without exponent notation (Lua numbers are doubles).
local function int(n)
  return string.format('%d', n)
end

--[[ Lifecycle events. Every transition records an event; the events of one script call are
  appended to the shard's capped stream as ONE entry when the script ends (flushEvents), with one
  field: e = lines "<type> <task id> <topic> <attempt>" joined by "\n", in transition order.
  One entry per atomic call keeps the per-task cost and memory low; readers split the lines
  (scheduler.ts readEvents) and address an event as "<entry id>.<line index>". ]]
local recorded = {}

local function event(eventType, id, topic, attempt)
  recorded[#recorded + 1] = eventType .. ' ' .. id .. ' ' .. topic .. ' ' .. attempt
end

local function flushEvents(eventsKey, maxLen)
  if #recorded > 0 then
    redis.call('XADD', eventsKey, 'MAXLEN', '~', maxLen, '*', 'e', table.concat(recorded, '\n'))
    recorded = {}
  end
end

-- Ready-queue order: higher priority first, then earlier due time (priority 0..1000, due < 2^42):
-- due - priority * 2^42. A priority-0 task's score is its due time, so fireDue can pass the due
-- time it read (a string) through unchanged.
local function readyScore(priority, dueAt)
  if priority == '0' then return dueAt end
  return tonumber(dueAt) - tonumber(priority) * 4398046511104
end

-- Keeps `indexKey` (topic -> earliest score of the topic's set) in step with `setKey`.
local function refreshHead(setKey, indexKey, topic)
  local head = redis.call('ZRANGE', setKey, 0, 0, 'WITHSCORES')
  if head[2] then
    redis.call('ZADD', indexKey, head[2], topic)
  else
    redis.call('ZREM', indexKey, topic)
  end
end

-- refreshHead, then, when that made the shard's earliest due time earlier, wake the shard's
-- firing loop (it sleeps until the earliest due time it knew of).
local function refreshHeadAndWake(setKey, indexKey, topic, channel)
  local before = redis.call('ZRANGE', indexKey, 0, 0, 'WITHSCORES')
  refreshHead(setKey, indexKey, topic)
  local after = redis.call('ZRANGE', indexKey, 0, 0, 'WITHSCORES')
  if after[2] and (before[2] == nil or tonumber(after[2]) < tonumber(before[2])) then
    redis.call('PUBLISH', channel, after[2])
  end
end

local function count(countsKey, topic, state, delta)
  if delta ~= 0 then redis.call('HINCRBY', countsKey, topic .. '|' .. state, delta) end
end

-- Runs `command key ...` over a flat list of arguments in chunks of at most 1,000 (unpack of
-- thousands of values overflows Lua's C stack). For ZADD, the list holds score, member pairs.
local function inChunks(command, key, args)
  for i = 1, #args, 1000 do
    redis.call(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

--[[ Retention of finished tasks. A succeeded or cancelled task's hash has no TTL of its own (it
  saves ack a PEXPIRE call per task): the shard's finished index (id ->
  finish time) says when its retention ends, and expireFinished deletes the task hashes whose
  retention has ended, oldest first, at most `limit` per call. ack, cancel, fail and
  recoverExpired call it after finishing tasks; the leader's firing loop calls it (script
  expireFinished) for shards that finish nothing. A task is readable for at least the retention
  and is deleted soon after. Returns the number deleted. ]]
local function expireFinished(finishedKey, taskPrefix, now, retentionMs, limit)
  local ids = redis.call('ZRANGEBYSCORE', finishedKey, '-inf', '(' .. int(now - tonumber(retentionMs)), 'LIMIT', 0, limit)
  if #ids == 0 then return 0 end
  local taskKeys = {}
  for i, id in ipairs(ids) do taskKeys[i] = taskPrefix .. id end
  for i = 1, #ids, 1000 do
    redis.call('DEL', unpack(taskKeys, i, math.min(i + 999, #ids)))
  end
  inChunks('ZREM', finishedKey, ids)
  return #ids
end

-- Marks a task finished (succeeded or cancelled): readable until its retention ends (above).
-- (A stale lease expiry field may remain; readers report it only for leased tasks.)
local function finish(taskKey, finishedKey, id, state, now, retentionMs)
  redis.call('HSET', taskKey, 'st', state, 'fa', int(now))
  redis.call('ZADD', finishedKey, int(now), id)
  expireFinished(finishedKey, string.sub(taskKey, 1, #taskKey - #id), now, retentionMs, 100)
end

--[[ Where a task's record lives.
  * The record: "<topic>\n<due>\n<priority>\n<max attempts>\n<backoff>\n<lease timeout>\n
    <idempotency key>\n<owner JSON>\n<traceparent>\n<payload>" (no field but the payload can
    hold a newline), written at enqueue: what a task is. Only changeWaiting rewrites it (a new due
    time or priority of a waiting task, withRecordField). The same format
    is read by scheduler/engine/taskRecord.ts.
  * A task that has never been leased is not a key of its own: its record is one field of the
    shard's pending hash (saving the per-key overhead for the many tasks that wait).
  * Every other task has a hash, ddq:{s}:t:<id>: the record, still packed, in field r (moved there
    unchanged by its first lease, or by cancel), tp (its topic, for the scripts' topic checks),
    and the fields that change: st ("waiting", "leased", "succeeded", "dead" or "cancelled"), at,
    tk, lx, lf, cr, le, rs, fa, and due once a retry, requeue or reschedule changed the due time (otherwise
    the record's). Writing the record as one field rather than one field per attribute makes a
    first lease one short HSET.
  A waiting task (pending, or a hash with st = "waiting") is "scheduled" while its id is in
  scheduled:T and "ready" while it is in ready:T: the index says which, so firing a task only
  moves its id.
  The counts field "<topic>|prioritized" is the exact number of tasks in scheduled:T whose
  priority is not 0: when it is 0, fireDue needs no per-task read at all. ]]
local PENDING_FIELDS = 9
local PENDING_PATTERN = '^' .. string.rep('([^\n]*)\n', PENDING_FIELDS) .. '(.*)$'
-- Single fields of a record, without copying the rest (the payload) into Lua.
local RECORD_DUE = '^[^\n]*\n([^\n]*)\n'
local RECORD_PRIORITY = '^[^\n]*\n[^\n]*\n([^\n]*)\n'
local RECORD_LEASE_TIMEOUT = '^' .. string.rep('[^\n]*\n', 5) .. '([^\n]*)\n'

local function packPending(topic, due, priority, maxAttempts, backoff, leaseTimeout, idemKey, owner, trace, payload)
  return table.concat({topic, due, priority, maxAttempts, backoff, leaseTimeout, idemKey, owner, trace, payload}, '\n')
end

local function unpackPending(record)
  return {string.match(record, PENDING_PATTERN)}
end

-- The HSET arguments that write a never-leased task's record as a task hash.
local function pendingAsHash(record, topic, state)
  return {'r', record, 'tp', topic, 'st', state, 'at', 0}
end

--[[ Cron schedules. A schedule `sid` of shard s has: ddq:{s}:cron:<sid> (hash: spec, gen, next,
  fireAt, last, lastOk, runs, missed, skipped, susp, history limits), ddq:{s}:cron-active:<sid>
  (set of its unfinished occurrence ids), and history lists ddq:{s}:cron-ok:<sid>,
  ddq:{s}:cron-failed:<sid>, ddq:{s}:cron-missed:<sid> (newest first, capped). Scripts derive
  these from the shard base (passed in KEYS) and the schedule id, as task keys from the prefix.
  An occurrence's task id is "<sid>:<slot ms>-<shard>" (or "<sid>:m<ms>-<shard>" when triggered
  by hand). ]]
local OCCURRENCE_PATTERN = '^([^:]+):(m?)(%d+)%-%d+$'

-- Records that occurrence `id` finished with `outcome` (succeeded | dead | cancelled) in its
-- schedule's history, if `id` is an occurrence and its schedule still exists.
local function recordOccurrence(base, id, outcome, now, attempt)
  if not string.find(id, ':', 1, true) then return end
  local sid, manual, slot = string.match(id, OCCURRENCE_PATTERN)
  if not sid then return end
  redis.call('SREM', base .. 'cron-active:' .. sid, id)
  local key = base .. 'cron:' .. sid
  local limits = redis.call('HMGET', key, 'okLimit', 'failLimit')
  if not limits[1] then return end
  local list, limit = base .. 'cron-failed:' .. sid, tonumber(limits[2])
  if outcome == 'succeeded' then
    redis.call('HSET', key, 'lastOk', int(now))
    list, limit = base .. 'cron-ok:' .. sid, tonumber(limits[1])
  end
  if limit > 0 then
    -- The entry's JSON, written directly (cheaper than cjson per finished occurrence): the schedule
    -- exists, so sid is a valid schedule id (letters, digits, '.', '_', '-': nothing to escape),
    -- and the other values are numbers, booleans and the fixed outcome names.
    local n = tonumber(attempt)
    local entry = '{"slot":' .. int(tonumber(slot)) .. ',"id":"' .. id .. '","outcome":"' .. outcome ..
      '","at":' .. int(now) .. (n and (',"attempt":' .. int(n)) or '') ..
      ',"manual":' .. (manual == 'm' and 'true' or 'false') .. '}'
    redis.call('LPUSH', list, entry)
    redis.call('LTRIM', list, 0, limit - 1)
  end
end

-- Takes waiting task `id` out of its topic's scheduled set, if it is there, keeping the topic's
-- earliest due time and the exact counters (<topic>|prioritized, <topic>|retries: a task with a
-- hash in the scheduled set is a retry) in step. `pending`: the task has no hash (never leased).
-- The caller counts the state change itself. Returns true if the task was scheduled.
local function leaveScheduled(base, id, topic, priority, pending)
  local scheduledKey = base .. 'scheduled:' .. topic
  if redis.call('ZREM', scheduledKey, id) == 0 then return false end
  refreshHead(scheduledKey, base .. 'due-topics', topic)
  local countsKey = base .. 'counts'
  if priority ~= '0' then count(countsKey, topic, 'prioritized', -1) end
  if not pending then count(countsKey, topic, 'retries', -1) end
  return true
end

-- A packed record with its `index`-th line (1 = topic, 2 = due, 3 = priority; never the payload)
-- replaced by `value`. Only RescheduleTask and SetTaskPriority (changeWaiting) rewrite a record.
local function withRecordField(record, index, value)
  local from = 1
  for _ = 1, index - 1 do from = string.find(record, '\n', from, true) + 1 end
  local to = string.find(record, '\n', from, true)
  return string.sub(record, 1, from - 1) .. value .. string.sub(record, to)
end

-- Deletes dead task `id` of `topic` (its hash and dead-set entry) and records a purged event.
-- Used by purgeDead (by time) and deleteDead (by id).
local function deleteDeadTask(deadKey, countsKey, taskKey, id, topic)
  redis.call('ZREM', deadKey, id)
  redis.call('DEL', taskKey)
  if topic then
    count(countsKey, topic, 'dead', -1)
    event('purged', id, topic, 0)
  end
end

--[[ Cancels task `id` of the shard whose key base is `base` (keys derived as in keys.ts): a
  scheduled or ready task is cancelled at once (a never-leased one is written out from the
  pending hash, so that it stays readable as cancelled for the retention); a leased one is marked
  cancel-requested (its worker learns it on its next heartbeat). `topic`: the topic the caller
  expects, or nil for the task's own. Returns outcome ("cancelled" | "requested" | "unchanged")
  and the state after the call, or nil when there is no such task (of that topic). Used by cancel
  and by cronFire (concurrency policy Replace). ]]
local function cancelTask(base, id, topic, retentionMs)
  local taskKey = base .. 't:' .. id
  local pendingKey = base .. 'pending'
  local f = redis.call('HMGET', taskKey, 'st', 'at', 'cr', 'tp', 'r')
  local pending = nil
  if not f[1] then
    local record = redis.call('HGET', pendingKey, id)
    if record then
      pending = record
      f = {'waiting', '0', nil, string.match(record, '^([^\n]*)\n'), record}
    end
  end
  if not f[1] or (topic and f[4] ~= topic) then return nil end
  topic = f[4]
  local countsKey = base .. 'counts'
  local priority = f[5] and string.match(f[5], RECORD_PRIORITY) or '0'
  local state = f[1]
  if state == 'waiting' then
    local was = 'ready'
    if leaveScheduled(base, id, topic, priority, pending) then
      was = 'scheduled'
    else
      redis.call('ZREM', base .. 'ready:' .. topic, id)
    end
    if pending then
      redis.call('HSET', taskKey, unpack(pendingAsHash(pending, topic, 'cancelled')))
      redis.call('HDEL', pendingKey, id)
    end
    local now = nowMs()
    finish(taskKey, base .. 'finished', id, 'cancelled', now, retentionMs)
    recordOccurrence(base, id, 'cancelled', now, f[2])
    count(countsKey, topic, was, -1)
    count(countsKey, topic, 'cancelled', 1)
    event('cancelled', id, topic, f[2])
    return 'cancelled', 'cancelled'
  end
  if state == 'leased' and f[3] ~= '1' then
    redis.call('HSET', taskKey, 'cr', '1')
    event('cancel_requested', id, topic, f[2])
    return 'requested', 'leased'
  end
  return 'unchanged', state
end
