--[[
  deleteDead: deletes one dead task by id (its hash and dead-set entry) [purged], and leaves a
  tombstone for the request-memo retention so that a resend is recognized. The work is
  common.lua's deleteDeadTask, which purgeDead shares.

  KEYS[1] epoch  KEYS[2] events  KEYS[3] dead  KEYS[4] counts  KEYS[5] task key
  KEYS[6] tombstone key

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] events max length  ARGV[4] tombstone retention ms

  Returns {"deleted"}, {"already"} (a resend: the tombstone is there), {"notfound"} (no task hash:
  unknown, expired, or a task that was never leased), or {"state", stored state} when the task
  is not dead (nothing was changed).
  Errors: STALE_EPOCH.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end
  local f = redis.call('HMGET', KEYS[5], 'st', 'tp')
  if not f[1] then
    if redis.call('EXISTS', KEYS[6]) == 1 then return {'already'} end
    return {'notfound'}
  end
  if f[1] ~= 'dead' then return {'state', f[1]} end
  deleteDeadTask(KEYS[3], KEYS[4], KEYS[5], ARGV[2], f[2])
  redis.call('SET', KEYS[6], '1', 'PX', ARGV[4])
  return {'deleted'}
end

local reply = run()
flushEvents(KEYS[2], ARGV[3])
return reply
