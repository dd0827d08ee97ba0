--[[
  ack: the worker holding the lease finished the task (leased -> succeeded). The task stays
  readable, with its result, for the retention period. Idempotent: a resent ack of the same
  lease answers "already".

  KEYS[1] epoch  KEYS[2] task key  KEYS[3] leased:T  KEYS[4] lease-topics
  KEYS[5] finished  KEYS[6] counts  KEYS[7] events

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] lease token  ARGV[4] result ("" = none)
  ARGV[5] retention ms  ARGV[6] events max length  ARGV[7] topic

  Returns "ok" or "already". Errors: STALE_EPOCH, NOT_FOUND, STALE_LEASE <state>.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end

local id = ARGV[2]
local topic = ARGV[7]
local f = redis.call('HMGET', KEYS[2], 'st', 'tk', 'at', 'tp')
if not f[1] or f[4] ~= topic then return redis.error_reply('NOT_FOUND') end
if f[2] == ARGV[3] and f[1] == 'succeeded' then return 'already' end
if f[1] ~= 'leased' or f[2] ~= ARGV[3] then return redis.error_reply('STALE_LEASE ' .. f[1]) end
local now = nowMs()
redis.call('ZREM', KEYS[3], id)
refreshHead(KEYS[3], KEYS[4], topic)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'rs', ARGV[4]) end
finish(KEYS[2], KEYS[5], id, 'succeeded', now, ARGV[5])
count(KEYS[6], topic, 'leased', -1)
count(KEYS[6], topic, 'succeeded', 1)
emit(KEYS[7], ARGV[6], 'succeeded', id, topic, f[3])
return 'ok'
