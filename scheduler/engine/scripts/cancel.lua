--[[
  cancel: a scheduled or ready task is cancelled at once (a never-leased one is written out from
  the pending hash so that it stays readable as cancelled for the retention); a leased one is marked cancel-requested
  (the worker learns it on its next heartbeat; the task ends cancelled when it fails or its lease
  expires, or succeeded if the worker completes it). Idempotent.

  KEYS[1] epoch  KEYS[2] task key  KEYS[3] scheduled:T  KEYS[4] ready:T  KEYS[5] due-topics
  KEYS[6] finished  KEYS[7] counts  KEYS[8] events  KEYS[9] pending
  KEYS[10] shard base (for cron history)

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] events max length  ARGV[4] finished retention ms
  ARGV[5] topic

  Returns {outcome ("cancelled" | "requested" | "unchanged"), state after the call}.
  Errors: STALE_EPOCH, NOT_FOUND.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local id = ARGV[2]
  local topic = ARGV[5]
  local f = redis.call('HMGET', KEYS[2], 'st', 'at', 'cr', 'tp', 'r')
  local pending = nil
  if not f[1] then
    local record = redis.call('HGET', KEYS[9], id)
    if record then
      pending = record
      f = {'waiting', '0', nil, string.match(record, '^([^\n]*)\n'), record}
    end
  end
  if not f[1] or f[4] ~= topic then return redis.error_reply('NOT_FOUND') end
  local priority = f[5] and string.match(f[5], RECORD_PRIORITY) or '0'
  local state = f[1]
  if state == 'waiting' then
    local was = 'ready'
    if redis.call('ZREM', KEYS[3], id) == 1 then
      was = 'scheduled'
      refreshHead(KEYS[3], KEYS[5], topic)
      if priority ~= '0' then count(KEYS[7], topic, 'prioritized', -1) end
      if not pending then count(KEYS[7], topic, 'retries', -1) end
    else
      redis.call('ZREM', KEYS[4], id)
    end
    if pending then
      -- Written out as a hash so that it stays readable, as cancelled, for the retention.
      redis.call('HSET', KEYS[2], unpack(pendingAsHash(pending, topic, 'cancelled')))
      redis.call('HDEL', KEYS[9], id)
    end
    local now = nowMs()
    finish(KEYS[2], KEYS[6], id, 'cancelled', now, ARGV[4])
    recordOccurrence(KEYS[10], id, 'cancelled', now, f[2])
    count(KEYS[7], topic, was, -1)
    count(KEYS[7], topic, 'cancelled', 1)
    event('cancelled', id, topic, f[2])
    return {'cancelled', 'cancelled'}
  end
  if state == 'leased' and f[3] ~= '1' then
    redis.call('HSET', KEYS[2], 'cr', '1')
    event('cancel_requested', id, topic, f[2])
    return {'requested', 'leased'}
  end
  return {'unchanged', state}
end

local reply = run()
flushEvents(KEYS[8], ARGV[3])
return reply
