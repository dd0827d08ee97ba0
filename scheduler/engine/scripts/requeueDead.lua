--[[
  requeueDead: gives a dead task a new life: dead -> ready, due now, attempts reset to 0 (a new
  run of deliveries: its attempt numbers start again at 1).
  Idempotent: a task no longer dead is left as it is.

  KEYS[1] epoch  KEYS[2] task key  KEYS[3] dead  KEYS[4] ready:T  KEYS[5] counts  KEYS[6] events
  KEYS[7] shard base (a cron occurrence rejoins its schedule's unfinished set, so Forbid sees it)

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] events max length  ARGV[4] topic

  Returns {outcome ("requeued" | "unchanged"), state after the call (scheduled | ready | ...)}.
  Errors: STALE_EPOCH, NOT_FOUND.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local id = ARGV[2]
  local topic = ARGV[4]
  local f = redis.call('HMGET', KEYS[2], 'st', 'r', 'tp')
  if not f[1] or f[3] ~= topic then return redis.error_reply('NOT_FOUND') end
  if f[1] ~= 'dead' then
    -- Not dead (any more): say which state it is in; a waiting task by the index holding it.
    local state = f[1]
    if state == 'waiting' then state = redis.call('ZSCORE', KEYS[4], id) and 'ready' or 'scheduled' end
    return {'unchanged', state}
  end
  local now = nowMs()
  redis.call('ZREM', KEYS[3], id)
  redis.call('HSET', KEYS[2], 'st', 'waiting', 'at', 0, 'due', int(now))
  redis.call('HDEL', KEYS[2], 'fa', 'tk', 'lf', 'cr')
  redis.call('ZADD', KEYS[4], readyScore(string.match(f[2] or '', RECORD_PRIORITY) or '0', now), id)
  count(KEYS[5], topic, 'dead', -1)
  count(KEYS[5], topic, 'ready', 1)
  event('requeued', id, topic, 0)
  local sid = string.match(id, OCCURRENCE_PATTERN)
  if sid then redis.call('SADD', KEYS[7] .. 'cron-active:' .. sid, id) end
  return {'requeued', 'ready'}
end

local reply = run()
flushEvents(KEYS[6], ARGV[3])
return reply
