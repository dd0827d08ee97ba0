--[[
  cronDelete: removes a schedule and its history. Occurrences already created run to their end.

  KEYS[1] epoch  KEYS[2] cron:<sid>  KEYS[3] cron-due  KEYS[4] cron-ids  KEYS[5] cron-active:<sid>
  KEYS[6] cron-ok:<sid>  KEYS[7] cron-failed:<sid>  KEYS[8] cron-missed:<sid>

  ARGV[1] epoch  ARGV[2] schedule id

  Returns 1 if it existed, 0 if not. Errors: STALE_EPOCH.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end
local existed = redis.call('EXISTS', KEYS[2])
redis.call('DEL', KEYS[2], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[2])
return existed
