--[[
  fireDue: moves up to `limit` due tasks of one topic from the scheduled set to the ready queue
  (scheduled -> ready). Idempotent: a resend moves only what is still due and not yet moved.

  A task still in the pending hash (it never ran) becomes a task hash of its own here.

  KEYS[1] epoch  KEYS[2] scheduled:T  KEYS[3] ready:T  KEYS[4] due-topics
  KEYS[5] counts KEYS[6] events       KEYS[7] task-key prefix  KEYS[8] pending

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] limit (<= 1000)  ARGV[4] events max length

  Returns {moved, earliest due time still scheduled for the topic (-1 if none), now}.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end

local topic = ARGV[2]
local now = nowMs()
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local moved = 0
local ids, readyArgs, materialized = {}, {}, {}
for i = 1, #due, 2 do
  local id = due[i]
  local taskKey = KEYS[7] .. id
  local priority, attempt
  local record = redis.call('HGET', KEYS[8], id)
  if record then
    local f = unpackPending(record)
    materialize(taskKey, f, 'ready')
    priority, attempt = f[3], '0'
    materialized[#materialized + 1] = id
  else
    local f = redis.call('HMGET', taskKey, 'pr', 'at')
    redis.call('HSET', taskKey, 'st', 'ready')
    priority, attempt = f[1] or '0', f[2] or '0'
  end
  emit(KEYS[6], ARGV[4], 'ready', id, topic, attempt)
  moved = moved + 1
  ids[moved] = id
  readyArgs[#readyArgs + 1] = readyScore(priority, due[i + 1])
  readyArgs[#readyArgs + 1] = id
end
inChunks('ZADD', KEYS[3], readyArgs)
zremAll(KEYS[2], ids)
inChunks('HDEL', KEYS[8], materialized)
if moved > 0 then
  count(KEYS[5], topic, 'scheduled', -moved)
  count(KEYS[5], topic, 'ready', moved)
end
refreshHead(KEYS[2], KEYS[4], topic)
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {moved, head[2] and tonumber(head[2]) or -1, now}
