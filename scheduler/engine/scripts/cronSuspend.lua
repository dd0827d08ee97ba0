--[[
  cronSuspend: pauses (no slot fires; the due index forgets the schedule) or resumes a schedule.
  On resume the stored next slot is due again as it was: slots that passed while suspended are
  overdue and the schedule's catch-up mode decides what runs (see docs/CRON.md).

  KEYS[1] epoch  KEYS[2] cron:<sid>  KEYS[3] cron-due  KEYS[4] cron-gen

  ARGV[1] epoch  ARGV[2] schedule id  ARGV[3] suspend (1 | 0)  ARGV[4] wake channel

  Returns the generation, or an error NOT_FOUND. Errors: STALE_EPOCH, NOT_FOUND.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.error_reply('NOT_FOUND') end
local oldGen = redis.call('HGET', KEYS[2], 'gen')
local gen = redis.call('INCR', KEYS[4])
-- The stored occurrence template (cronUpsert) belongs to the spec, which suspending does not
-- change: it follows the generation, so fires keep naming it instead of resending the task.
if redis.call('HGET', KEYS[2], 'taskGen') == oldGen then
  redis.call('HSET', KEYS[2], 'gen', gen, 'susp', ARGV[3], 'taskGen', gen)
else
  redis.call('HSET', KEYS[2], 'gen', gen, 'susp', ARGV[3])
end
local fireAt = redis.call('HGET', KEYS[2], 'fireAt')
if ARGV[3] == '1' or fireAt == nil or fireAt == false or fireAt == '' then
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('ZADD', KEYS[3], fireAt, ARGV[2])
  redis.call('PUBLISH', ARGV[4], fireAt)
end
return gen
