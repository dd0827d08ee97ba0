--[[
  extend: heartbeat. Moves the lease expiry of a leased task to now + `extend ms`, if the caller
  holds the current lease token. Idempotent. Tells the worker whether cancellation was requested.

  KEYS[1] epoch  KEYS[2] task key  KEYS[3] leased:T  KEYS[4] lease-topics

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] lease token  ARGV[4] extend ms  ARGV[5] topic

  Returns {new lease expiry ms, cancel requested (0 | 1)}.
  Errors: STALE_EPOCH, NOT_FOUND, STALE_LEASE <state>.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end

local f = redis.call('HMGET', KEYS[2], 'st', 'tk', 'cr', 'tp')
if not f[1] or f[4] ~= ARGV[5] then return redis.error_reply('NOT_FOUND') end
if f[1] ~= 'leased' or f[2] ~= ARGV[3] then return redis.error_reply('STALE_LEASE ' .. f[1]) end
local expiry = nowMs() + tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'lx', int(expiry))
redis.call('ZADD', KEYS[3], int(expiry), ARGV[2])
refreshHead(KEYS[3], KEYS[4], ARGV[5])
return {expiry, f[3] == '1' and 1 or 0}
