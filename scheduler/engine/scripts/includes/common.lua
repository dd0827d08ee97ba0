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

-- Appends a lifecycle event to the shard's capped stream.
local function emit(eventsKey, maxLen, eventType, id, topic, attempt)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', maxLen, '*', 'e', eventType, 'id', id, 'tp', topic, 'at', attempt)
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

-- Marks a task finished (succeeded or cancelled): readable until the retention ends.
local function finish(taskKey, finishedKey, id, state, now, retentionMs)
  redis.call('HSET', taskKey, 'st', state, 'fa', int(now))
  redis.call('HDEL', taskKey, 'lx')
  redis.call('PEXPIRE', taskKey, retentionMs)
  redis.call('ZADD', finishedKey, int(now), id)
  redis.call('ZREMRANGEBYSCORE', finishedKey, '-inf', '(' .. int(now - tonumber(retentionMs)))
end

-- ZREM of many members, in chunks (unpack of thousands of values overflows Lua's C stack).
local function zremAll(key, members)
  for i = 1, #members, 500 do
    redis.call('ZREM', key, unpack(members, i, math.min(i + 499, #members)))
  end
end
