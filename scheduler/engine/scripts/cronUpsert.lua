--[[
  cronUpsert: creates or replaces a cron schedule. The caller computed its next slot (an edit
  keeps the next slot when it is still one of the new timing's, and never adds an overdue one);
  a suspended schedule or one without a next slot is not in the due index. Every upsert gives
  the schedule a new generation from the shard's counter (so generations never repeat, even
  after a delete and re-create), and a fire planned against the old spec fails its
  compare-and-set. Compare-and-set itself: the caller read the schedule's generation (ARGV[11],
  "" = it did not exist) and next slot (ARGV[14]); if either changed since (an edit, or a fire:
  fires move only the next slot), nothing is written and the answer is {"stale"}.

  KEYS[1] epoch  KEYS[2] cron:<sid>  KEYS[3] cron-due  KEYS[4] cron-ids  KEYS[5] cron-gen

  ARGV[1] epoch  ARGV[2] schedule id  ARGV[3] spec JSON  ARGV[4] next slot ms ("" = none)
  ARGV[5] fire-at ms ("" = none)  ARGV[6] suspended (1 | 0)  ARGV[7] successful history limit
  ARGV[8] failed history limit  ARGV[9] missed history limit  ARGV[10] wake channel
  ARGV[11] generation read by the caller ("" = none)
  ARGV[12] task template ("" = none: cronFire must then be sent the task), ARGV[13] its priority
  (stored with the generation they belong to: cronFire uses them only for that generation)
  ARGV[14] next slot read by the caller ("" = none)

  Returns {generation, created (1 | 0)} or {"stale"}. Errors: STALE_EPOCH.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end

local sid = ARGV[2]
local read = redis.call('HMGET', KEYS[2], 'gen', 'next')
local current = read[1] or ''
if current ~= ARGV[11] or (read[2] or '') ~= ARGV[14] then return {'stale'} end
local created = current == '' and 1 or 0
local gen = redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[2], 'gen', gen, 'spec', ARGV[3], 'next', ARGV[4], 'fireAt', ARGV[5], 'susp', ARGV[6],
  'okLimit', ARGV[7], 'failLimit', ARGV[8], 'missLimit', ARGV[9])
if created == 1 then
  redis.call('HSET', KEYS[2], 'runs', 0, 'missed', 0, 'skipped', 0)
end
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[2], 'task', ARGV[12], 'taskPrio', ARGV[13], 'taskGen', gen)
else
  redis.call('HDEL', KEYS[2], 'task', 'taskPrio', 'taskGen')
end
redis.call('SADD', KEYS[4], sid)
if ARGV[6] == '0' and ARGV[5] ~= '' then
  local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  redis.call('ZADD', KEYS[3], ARGV[5], sid)
  if head[2] == nil or tonumber(ARGV[5]) < tonumber(head[2]) then
    redis.call('PUBLISH', ARGV[10], ARGV[5])
  end
else
  redis.call('ZREM', KEYS[3], sid)
end
return {gen, created}
