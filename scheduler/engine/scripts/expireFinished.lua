--[[
  expireFinished: deletes succeeded and cancelled tasks whose retention has ended (finished
  before now - retention), oldest first, at most `limit` per call (the caller loops). Finished
  task hashes have no TTL: the finished index is their expiry (includes/common.lua). The
  leader's firing loop runs this for every shard; ack and the other finishing scripts also
  expire a bounded number on the way. Idempotent.

  KEYS[1] epoch  KEYS[2] finished  KEYS[3] task-key prefix

  ARGV[1] epoch  ARGV[2] finished retention ms  ARGV[3] limit (<= 1000)

  Returns {deleted, earliest finish time still in the index (-1 if none), now}.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end
local now = nowMs()
local deleted = expireFinished(KEYS[2], KEYS[3], now, ARGV[2], tonumber(ARGV[3]))
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {deleted, head[2] and tonumber(head[2]) or -1, now}
