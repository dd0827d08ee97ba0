--[[
  ack: workers holding the leases finished tasks of one topic (leased -> succeeded). Each task
  stays readable, with its result, for the retention period. Batched: one call acks many tasks;
  each gets its own answer. Finished tasks past their retention are deleted on the way (common.lua
  expireFinished): no TTL is set per task. Idempotent: a resent ack of the same lease answers "already".

  KEYS[1] epoch  KEYS[2] task-key prefix  KEYS[3] leased:T  KEYS[4] lease-topics
  KEYS[5] finished  KEYS[6] counts  KEYS[7] events  KEYS[8] shard base (for cron history)

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] retention ms  ARGV[4] events max length
  ARGV[5] number of tasks (n), then n groups of 3: task id, lease token, result ("" = none)

  Returns n answers: "ok", "already", "notfound" or "stale:<state>" (the token is not the
  task's current lease). Errors: STALE_EPOCH.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic = ARGV[2]
  local retention = ARGV[3]
  local n = tonumber(ARGV[5])
  local now = nowMs()
  local nowText = int(now)
  local out = {}
  local acked = 0
  local ackedIds, finishedArgs = {}, {}
  for i = 0, n - 1 do
    local id, token, result = ARGV[6 + i * 3], ARGV[7 + i * 3], ARGV[8 + i * 3]
    local taskKey = KEYS[2] .. id
    local f = redis.call('HMGET', taskKey, 'st', 'tk', 'at', 'tp')
    if not f[1] or f[4] ~= topic then
      out[i + 1] = 'notfound'
    elseif f[2] == token and f[1] == 'succeeded' then
      out[i + 1] = 'already'
    elseif f[1] ~= 'leased' or f[2] ~= token then
      out[i + 1] = 'stale:' .. f[1]
    else
      if result ~= '' then
        redis.call('HSET', taskKey, 'st', 'succeeded', 'fa', nowText, 'rs', result)
      else
        redis.call('HSET', taskKey, 'st', 'succeeded', 'fa', nowText)
      end
      event('succeeded', id, topic, f[3])
      recordOccurrence(KEYS[8], id, 'succeeded', now, f[3])
      acked = acked + 1
      ackedIds[acked] = id
      finishedArgs[acked * 2 - 1] = nowText
      finishedArgs[acked * 2] = id
      out[i + 1] = 'ok'
    end
  end
  if acked > 0 then
    inChunks('ZREM', KEYS[3], ackedIds)
    inChunks('ZADD', KEYS[5], finishedArgs)
    refreshHead(KEYS[3], KEYS[4], topic)
    expireFinished(KEYS[5], KEYS[2], now, retention, 1000)
    count(KEYS[6], topic, 'leased', -acked)
    count(KEYS[6], topic, 'succeeded', acked)
  end
  return out
end

local reply = run()
flushEvents(KEYS[7], ARGV[4])
return reply
