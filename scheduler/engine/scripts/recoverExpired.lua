--[[
  recoverExpired: tasks of one topic whose lease expired (the worker crashed or stalled) are
  delivered again: leased -> ready, or -> dead when that was the last attempt, or -> cancelled
  when cancellation was requested. The stale lease token stays recorded, so a late ack or fail
  from the old holder is rejected. Idempotent: a resend recovers only what is still expired.

  KEYS[1] epoch  KEYS[2] leased:T  KEYS[3] lease-topics  KEYS[4] ready:T  KEYS[5] dead
  KEYS[6] finished  KEYS[7] counts  KEYS[8] events  KEYS[9] task-key prefix
  KEYS[10] shard base (for cron history)

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] limit (<= 1000)  ARGV[4] events max length
  ARGV[5] finished retention ms

  Returns {requeued, dead, cancelled, earliest lease expiry left for the topic (-1 if none)}.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic = ARGV[2]
  local now = nowMs()
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'LIMIT', 0, tonumber(ARGV[3]))
  local requeued, dead, cancelled = 0, 0, 0
  for _, id in ipairs(expired) do
    local taskKey = KEYS[9] .. id
    local f = redis.call('HMGET', taskKey, 'at', 'r', 'cr', 'due')
    -- Record fields: [2] due, [3] priority, [4] max attempts.
    local r = unpackPending(f[2] or '')
    local attempt = tonumber(f[1])
    redis.call('ZREM', KEYS[2], id)
    if f[3] == '1' then
      finish(taskKey, KEYS[6], id, 'cancelled', now, ARGV[5])
      event('cancelled', id, topic, attempt)
      recordOccurrence(KEYS[10], id, 'cancelled', now, attempt)
      cancelled = cancelled + 1
    elseif attempt >= tonumber(r[4] or '1') then
      redis.call('HSET', taskKey, 'st', 'dead', 'fa', int(now), 'le', 'lease expired on the last attempt (' .. attempt .. ')')
      redis.call('ZADD', KEYS[5], int(now), id)
      event('dead', id, topic, attempt)
      recordOccurrence(KEYS[10], id, 'dead', now, attempt)
      dead = dead + 1
    else
      redis.call('HSET', taskKey, 'st', 'waiting', 'le', 'lease expired (attempt ' .. attempt .. ')')
      redis.call('ZADD', KEYS[4], readyScore(r[3] or '0', f[4] or r[2]), id)
      event('expired', id, topic, attempt)
      requeued = requeued + 1
    end
  end
  if #expired > 0 then
    count(KEYS[7], topic, 'leased', -#expired)
    if requeued > 0 then count(KEYS[7], topic, 'ready', requeued) end
    if dead > 0 then count(KEYS[7], topic, 'dead', dead) end
    if cancelled > 0 then count(KEYS[7], topic, 'cancelled', cancelled) end
  end
  refreshHead(KEYS[2], KEYS[3], topic)
  local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {requeued, dead, cancelled, head[2] and tonumber(head[2]) or -1}
end

local reply = run()
flushEvents(KEYS[8], ARGV[4])
return reply
