--[[
  fireDue: moves up to `limit` due tasks of one topic from the scheduled set to the ready queue
  (scheduled -> ready). Only ids move: a waiting task's state is the index that holds it. When
  the topic has no prioritized task and no retry in its scheduled set (exact counters), no task
  record is read at all. Idempotent: a resend moves only what is still due and not yet moved.

  KEYS[1] epoch  KEYS[2] scheduled:T  KEYS[3] ready:T  KEYS[4] due-topics
  KEYS[5] counts KEYS[6] events       KEYS[7] task-key prefix  KEYS[8] pending

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] limit (<= 1000)  ARGV[4] events max length

  Returns {moved, earliest due time still scheduled for the topic (-1 if none), now}.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic = ARGV[2]
  local now = nowMs()
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
  local counters = redis.call('HMGET', KEYS[5], topic .. '|prioritized', topic .. '|retries')
  local mayBePrioritized = tonumber(counters[1] or '0') > 0
  local mayBeRetry = tonumber(counters[2] or '0') > 0
  local ids, readyArgs = {}, {}
  local prioritizedMoved, retriesMoved = 0, 0
  for i = 1, #due, 2 do
    local id = due[i]
    local priority, attempt = '0', '0'
    if mayBePrioritized or mayBeRetry then
      -- A retry has a task hash (with its priority and attempt); a never-run task is pending.
      local f = redis.call('HMGET', KEYS[7] .. id, 'st', 'r', 'at')
      if f[1] then
        retriesMoved = retriesMoved + 1
        priority, attempt = string.match(f[2] or '', RECORD_PRIORITY) or '0', f[3] or '0'
      elseif mayBePrioritized then
        local record = redis.call('HGET', KEYS[8], id)
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
  if moved > 0 then
    inChunks('ZADD', KEYS[3], readyArgs)
    inChunks('ZREM', KEYS[2], ids)
    count(KEYS[5], topic, 'scheduled', -moved)
    count(KEYS[5], topic, 'ready', moved)
    count(KEYS[5], topic, 'prioritized', -prioritizedMoved)
    count(KEYS[5], topic, 'retries', -retriesMoved)
  end
  refreshHead(KEYS[2], KEYS[4], topic)
  local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {moved, head[2] and tonumber(head[2]) or -1, now}
end

local reply = run()
flushEvents(KEYS[6], ARGV[4])
return reply
