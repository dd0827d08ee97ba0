--[[
  lease: hands up to `max` ready tasks of one topic to a worker (ready -> leased), in priority
  then due-time order. Each gets a lease token and an expiry (now + its lease timeout, or the
  caller's override); the attempt count is incremented. Idempotent under resend: the answer is
  remembered under the request id, and a resent request gets the same tasks, not new ones.

  KEYS[1] epoch   KEYS[2] ready:T  KEYS[3] leased:T  KEYS[4] lease-topics
  KEYS[5] counts  KEYS[6] events   KEYS[7] task-key prefix  KEYS[8] lease-request key

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] max  ARGV[4] lease timeout override ms (0 = task's)
  ARGV[5] token prefix (random, per request)  ARGV[6] events max length
  ARGV[7] request-memo retention ms

  Returns groups of 8 per task: id, payload, attempt, max attempts, lease token,
  lease expiry ms, traceparent, owner JSON.
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end

local topic = ARGV[2]
local out = {}

local function describe(id, token)
  local f = redis.call('HMGET', KEYS[7] .. id, 'pl', 'at', 'ma', 'lx', 'tc', 'ow', 'st', 'tk')
  if f[7] ~= 'leased' or f[8] ~= token then return end
  for _, v in ipairs({id, f[1] or '', f[2], f[3], token, f[4], f[5] or '', f[6] or ''}) do
    table.insert(out, v)
  end
end

local memo = redis.call('GET', KEYS[8])
if memo then
  for id, token in string.gmatch(memo, '(%S+) (%S+)') do describe(id, token) end
  return out
end

local now = nowMs()
local override = tonumber(ARGV[4])
local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
local answer = {}
local leasedArgs = {}
for i, id in ipairs(ids) do
  local taskKey = KEYS[7] .. id
  local f = redis.call('HMGET', taskKey, 'at', 'lt', 'pl', 'ma', 'tc', 'ow')
  local attempt = tonumber(f[1] or '0') + 1
  local expiry = int(now + ((override > 0) and override or tonumber(f[2])))
  local token = ARGV[5] .. i
  redis.call('HSET', taskKey, 'st', 'leased', 'at', attempt, 'tk', token, 'lx', expiry)
  leasedArgs[#leasedArgs + 1] = expiry
  leasedArgs[#leasedArgs + 1] = id
  emit(KEYS[6], ARGV[6], 'leased', id, topic, attempt)
  answer[i] = id .. ' ' .. token
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4] = id, f[3] or '', attempt, f[4]
  out[n + 5], out[n + 6], out[n + 7], out[n + 8] = token, expiry, f[5] or '', f[6] or ''
end
inChunks('ZADD', KEYS[3], leasedArgs)
zremAll(KEYS[2], ids)
if #ids > 0 then
  count(KEYS[5], topic, 'ready', -#ids)
  count(KEYS[5], topic, 'leased', #ids)
  refreshHead(KEYS[3], KEYS[4], topic)
  redis.call('SET', KEYS[8], table.concat(answer, ' '), 'PX', ARGV[7])
end
return out
