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

-- Appends a lifecycle event to the shard's capped stream: one field, e = "<type> <task id> <topic>
-- <attempt>" (one field keeps each entry small and the call cheap; read by scheduler.ts).
local function emit(eventsKey, maxLen, eventType, id, topic, attempt)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', maxLen, '*', 'e', eventType .. ' ' .. id .. ' ' .. topic .. ' ' .. attempt)
end

-- Ready-queue order: higher priority first, then earlier due time (priority 0..1000, due < 2^42).
local function readyScore(priority, dueAt)
  return (1000 - tonumber(priority)) * 4398046511104 + tonumber(dueAt)
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

local function count(countsKey, topic, state, delta)
  redis.call('HINCRBY', countsKey, topic .. '|' .. state, delta)
end

-- Marks a task finished (succeeded or cancelled): readable until the retention ends. (A stale
-- lease expiry field may remain; readers report it only for leased tasks.)
local function finish(taskKey, finishedKey, id, state, now, retentionMs)
  redis.call('HSET', taskKey, 'st', state, 'fa', int(now))
  redis.call('PEXPIRE', taskKey, retentionMs)
  redis.call('ZADD', finishedKey, int(now), id)
  redis.call('ZREMRANGEBYSCORE', finishedKey, '-inf', '(' .. int(now - tonumber(retentionMs)))
end

-- Runs `command key ...` over a flat list of arguments in chunks of at most 1,000 (unpack of
-- thousands of values overflows Lua's C stack). For ZADD, the list holds score, member pairs.
local function inChunks(command, key, args)
  for i = 1, #args, 1000 do
    redis.call(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

local function zremAll(key, members)
  inChunks('ZREM', key, members)
end

--[[ Pending tasks. A task that is scheduled and has never run is not a key of its own but one
  field of the shard's pending hash (saving the per-key overhead for the millions of tasks that
  wait): id -> "<topic>\n<due>\n<priority>\n<max attempts>\n<backoff>\n<lease timeout>\n
  <idempotency key>\n<owner JSON>\n<traceparent>\n<payload>" (no field but the payload can hold a
  newline). fireDue turns it into a task hash when it becomes due; so does cancel. The same
  format is read by scheduler/engine/taskRecord.ts. ]]
local PENDING_FIELDS = 9

local function packPending(topic, due, priority, maxAttempts, backoff, leaseTimeout, idemKey, owner, trace, payload)
  return table.concat({topic, due, priority, maxAttempts, backoff, leaseTimeout, idemKey, owner, trace, payload}, '\n')
end

local PENDING_PATTERN = '^' .. string.rep('([^\n]*)\n', PENDING_FIELDS) .. '(.*)$'

local function unpackPending(record)
  return {string.match(record, PENDING_PATTERN)}
end

-- Writes a pending task's fields (from unpackPending) as its own task hash, in `state`.
local function materialize(taskKey, f, state)
  local args = {'tp', f[1], 'st', state, 'due', f[2], 'ma', f[4], 'bo', f[5], 'lt', f[6], 'at', 0, 'pl', f[10]}
  if f[3] ~= '0' then args[#args + 1] = 'pr'; args[#args + 1] = f[3] end
  if f[7] ~= '' then args[#args + 1] = 'ik'; args[#args + 1] = f[7] end
  if f[8] ~= '' then args[#args + 1] = 'ow'; args[#args + 1] = f[8] end
  if f[9] ~= '' then args[#args + 1] = 'tc'; args[#args + 1] = f[9] end
  redis.call('HSET', taskKey, unpack(args))
end
