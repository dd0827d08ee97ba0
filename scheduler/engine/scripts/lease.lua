--[[
  lease: hands up to `max` ready tasks of one topic to a worker (ready -> leased), in priority
  then due-time order. Each gets a lease token and an expiry (now + its lease timeout, or the
  caller's override); the attempt count is incremented. A task leased for the first time is
  written out from the pending hash as its own task hash. Idempotent under resend: the answer is
  remembered under the request id, and a resent request gets the same tasks, not new ones.

  KEYS[1] epoch   KEYS[2] ready:T  KEYS[3] leased:T  KEYS[4] lease-topics
  KEYS[5] counts  KEYS[6] events   KEYS[7] task-key prefix  KEYS[8] lease-request key
  KEYS[9] pending

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] max  ARGV[4] lease timeout override ms (0 = task's)
  ARGV[5] token prefix (random, per request)  ARGV[6] events max length
  ARGV[7] request-memo retention ms

  Returns groups of 8 per task: id, payload, attempt, max attempts, lease token,
  lease expiry ms, traceparent, owner JSON.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic = ARGV[2]
  local out = {}

  local function append(id, payload, attempt, maxAttempts, token, expiry, trace, owner)
    local n = #out
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = id, payload, attempt, maxAttempts
    out[n + 5], out[n + 6], out[n + 7], out[n + 8] = token, expiry, trace, owner
  end

  local memo = redis.call('GET', KEYS[8])
  if memo then
    for id, token in string.gmatch(memo, '(%S+) (%S+)') do
      local f = redis.call('HMGET', KEYS[7] .. id, 'pl', 'at', 'ma', 'lx', 'tc', 'ow', 'st', 'tk')
      if f[7] == 'leased' and f[8] == token then
        append(id, f[1] or '', f[2], f[3], token, f[4], f[5] or '', f[6] or '')
      end
    end
    return out
  end

  local now = nowMs()
  local override = tonumber(ARGV[4])
  local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
  local answer, leasedArgs, fromPending, taken = {}, {}, {}, {}
  local function expiryFor(leaseTimeout)
    return int(now + ((override > 0) and override or tonumber(leaseTimeout)))
  end
  for i, id in ipairs(ids) do
    local taskKey = KEYS[7] .. id
    local token = ARGV[5] .. i
    local attempt, expiry, payload, maxAttempts, trace, owner
    -- First delivery (the common case): the record is in the pending hash; write it out as a
    -- leased task hash in one HSET.
    local record = redis.call('HGET', KEYS[9], id)
    if record then
      local p = unpackPending(record)
      attempt, expiry = 1, expiryFor(p[6])
      payload, maxAttempts, trace, owner = p[10], p[4], p[9], p[8]
      local args = pendingAsHash(p, 'leased')
      args[#args + 1], args[#args + 2], args[#args + 3], args[#args + 4] = 'tk', token, 'lx', expiry
      args[#args + 1], args[#args + 2] = 'at', 1
      redis.call('HSET', taskKey, unpack(args))
      fromPending[#fromPending + 1] = id
    else
      local f = redis.call('HMGET', taskKey, 'at', 'lt', 'pl', 'ma', 'tc', 'ow')
      if f[2] then
        attempt, expiry = tonumber(f[1] or '0') + 1, expiryFor(f[2])
        payload, maxAttempts, trace, owner = f[3] or '', f[4], f[5] or '', f[6] or ''
        redis.call('HSET', taskKey, 'st', 'leased', 'at', attempt, 'tk', token, 'lx', expiry)
      end
    end
    if attempt then
      leasedArgs[#leasedArgs + 1] = expiry
      leasedArgs[#leasedArgs + 1] = id
      answer[#answer + 1] = id .. ' ' .. token
      taken[#taken + 1] = id
      event('leased', id, topic, attempt)
      append(id, payload, attempt, maxAttempts, token, expiry, trace, owner)
    end
  end
  -- Every id leaves the ready queue (one with neither hash nor pending record has no task).
  inChunks('ZREM', KEYS[2], ids)
  inChunks('HDEL', KEYS[9], fromPending)
  if #taken > 0 then
    inChunks('ZADD', KEYS[3], leasedArgs)
    count(KEYS[5], topic, 'ready', -#ids)
    count(KEYS[5], topic, 'leased', #taken)
    refreshHead(KEYS[3], KEYS[4], topic)
    redis.call('SET', KEYS[8], table.concat(answer, ' '), 'PX', ARGV[7])
  elseif #ids > 0 then
    count(KEYS[5], topic, 'ready', -#ids)
  end
  return out
end

local reply = run()
flushEvents(KEYS[6], ARGV[6])
return reply
