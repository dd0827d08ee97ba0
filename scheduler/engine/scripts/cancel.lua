--[[
  cancel: a scheduled or ready task is cancelled at once (a never-leased one is written out from
  the pending hash so that it stays readable as cancelled for the retention); a leased one is
  marked cancel-requested (the worker learns it on its next heartbeat; the task ends cancelled
  when it fails or its lease expires, or succeeded if the worker completes it). Idempotent. The
  work is common.lua's cancelTask, which cronFire shares (concurrency policy Replace).

  KEYS[1] epoch  KEYS[2] events  KEYS[3] shard base (task, index and history keys derive from it)

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] events max length  ARGV[4] finished retention ms
  ARGV[5] topic

  Returns {outcome ("cancelled" | "requested" | "unchanged"), state after the call}.
  Errors: STALE_EPOCH, NOT_FOUND.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end
  local outcome, state = cancelTask(KEYS[3], ARGV[2], ARGV[5], ARGV[4])
  if not outcome then return redis.error_reply('NOT_FOUND') end
  return {outcome, state}
end

local reply = run()
flushEvents(KEYS[2], ARGV[3])
return reply
