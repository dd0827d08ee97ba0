--[[
  fireDue: moves the shard's due tasks from the scheduled sets to the ready queues (scheduled ->
  ready), every topic with something due in one call, at most `limit` tasks in all. Only ids
  move: a waiting task's state is the index that holds it. When a topic has no prioritized task
  and no retry in its scheduled set (exact counters), no task record is read at all. Idempotent:
  a resend moves only what is still due and not yet moved. Also answers what the firing loop
  needs to plan its next pass (the earliest due time and the earliest lease expiry left), so
  that a pass is one call.

  KEYS[1] epoch  KEYS[2] due-topics  KEYS[3] lease-topics  KEYS[4] counts  KEYS[5] events
  KEYS[6] task-key prefix  KEYS[7] pending
  KEYS[8] shard base (scheduled:<topic> and ready:<topic> are derived from it)

  ARGV[1] epoch  ARGV[2] limit (<= 1000)  ARGV[3] events max length

  Returns {moved in all, 1 if tasks are still due (the limit cut the call short: call again)
  else 0, earliest due time still scheduled (-1 if none), earliest lease expiry (-1 if none), now, then per topic
  that moved tasks: topic, moved}.
]]
-- @include "common"

-- Moves up to `limit` due tasks of one topic; returns how many moved.
local function fireTopic(topic, now, limit)
  local scheduledKey = KEYS[8] .. 'scheduled:' .. topic
  local readyKey = KEYS[8] .. 'ready:' .. topic
  local due = redis.call('ZRANGEBYSCORE', scheduledKey, '-inf', int(now), 'WITHSCORES', 'LIMIT', 0, limit)
  if #due == 0 then
    refreshHead(scheduledKey, KEYS[2], topic)
    return 0
  end
  local counters = redis.call('HMGET', KEYS[4], topic .. '|prioritized', topic .. '|retries')
  local mayBePrioritized = tonumber(counters[1] or '0') > 0
  local mayBeRetry = tonumber(counters[2] or '0') > 0
  local ids, readyArgs = {}, {}
  local prioritizedMoved, retriesMoved = 0, 0
  for i = 1, #due, 2 do
    local id = due[i]
    local priority, attempt = '0', '0'
    if mayBePrioritized or mayBeRetry then
      -- A retry has a task hash (with its priority and attempt); a never-run task is pending.
      local f = redis.call('HMGET', KEYS[6] .. id, 'st', 'r', 'at')
      if f[1] then
        retriesMoved = retriesMoved + 1
        priority, attempt = string.match(f[2] or '', RECORD_PRIORITY) or '0', f[3] or '0'
      elseif mayBePrioritized then
        local record = redis.call('HGET', KEYS[7], id)
        if record then priority = string.match(record, RECORD_PRIORITY) end
      end
      if priority ~= '0' then prioritizedMoved = prioritizedMoved + 1 end
    end
    ids[#ids + 1] = id
    readyArgs[#readyArgs + 1] = readyScore(priority, due[i + 1])
    readyArgs[#readyArgs + 1] = id
    event('ready', id, topic, attempt)
  end
  local moved = #ids
  inChunks('ZADD', readyKey, readyArgs)
  inChunks('ZREM', scheduledKey, ids)
  count(KEYS[4], topic, 'scheduled', -moved)
  count(KEYS[4], topic, 'ready', moved)
  count(KEYS[4], topic, 'prioritized', -prioritizedMoved)
  count(KEYS[4], topic, 'retries', -retriesMoved)
  refreshHead(scheduledKey, KEYS[2], topic)
  return moved
end

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local now = nowMs()
  local limit = tonumber(ARGV[2])
  local total = 0
  local perTopic = {}
  local topics = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'LIMIT', 0, 256)
  for _, topic in ipairs(topics) do
    if total >= limit then break end
    local moved = fireTopic(topic, now, limit - total)
    if moved > 0 then
      total = total + moved
      perTopic[#perTopic + 1] = topic
      perTopic[#perTopic + 1] = moved
    end
  end
  -- Something is still due (the limit cut the call short): the caller calls again.
  local nextDue = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local more = (nextDue[2] and tonumber(nextDue[2]) <= now) and 1 or 0
  local nextExpiry = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  local reply = {total, more, nextDue[2] and tonumber(nextDue[2]) or -1,
    nextExpiry[2] and tonumber(nextExpiry[2]) or -1, now}
  for _, v in ipairs(perTopic) do reply[#reply + 1] = v end
  return reply
end

local reply = run()
flushEvents(KEYS[5], ARGV[3])
return reply
