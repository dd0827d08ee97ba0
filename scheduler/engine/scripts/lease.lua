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

  Returns groups of 5 per task: id, record (the packed record of includes/common.lua: the
  caller takes payload, max attempts, traceparent and owner from it), attempt, lease token,
  lease expiry ms.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic = ARGV[2]
  local out = {}
  local n = 0

  -- The memo of a request: "<token prefix> <id 1> <id 2> ...", the ids the first call took
  -- from the ready queue, in order; the i-th one's token was "<token prefix><i>".
  local memo = redis.call('GET', KEYS[8])
  if memo then
    local tokenPrefix, i = nil, 0
    for word in string.gmatch(memo, '%S+') do
      if not tokenPrefix then
        tokenPrefix = word
      else
        i = i + 1
        local token = tokenPrefix .. i
        local f = redis.call('HMGET', KEYS[7] .. word, 'r', 'at', 'lx', 'st', 'tk')
        if f[4] == 'leased' and f[5] == token then
          out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = word, f[1], f[2], token, f[3]
          n = n + 5
        end
      end
    end
    return out
  end

  local now = nowMs()
  local override = tonumber(ARGV[4])
  local tokenPrefix = ARGV[5]
  local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
  -- The pending records of the batch, read in one HMGET per 1,000 ids (false: not pending).
  local records = {}
  for c = 1, #ids, 1000 do
    local part = redis.call('HMGET', KEYS[9], unpack(ids, c, math.min(c + 999, #ids)))
    for j = 1, #part do records[c + j - 1] = part[j] end
  end
  local leasedArgs, fromPending = {}, {}
  local taken = 0
  -- Lease expiry by lease timeout (a batch's tasks mostly share one).
  local expiries = {}
  local function expiryFor(record)
    if override > 0 then return int(now + override) end
    local leaseTimeout = string.match(record, RECORD_LEASE_TIMEOUT)
    local expiry = expiries[leaseTimeout]
    if not expiry then
      expiry = int(now + tonumber(leaseTimeout))
      expiries[leaseTimeout] = expiry
    end
    return expiry
  end
  for i, id in ipairs(ids) do
    local taskKey = KEYS[7] .. id
    local token = tokenPrefix .. i
    local record, attempt = records[i], nil
    if record then
      -- First delivery (the common case): the record moves, unchanged, from the pending hash
      -- into a new task hash, with the lease's fields.
      attempt = '1'
    else
      local f = redis.call('HMGET', taskKey, 'r', 'at')
      record = f[1]
      if record then attempt = tostring(tonumber(f[2] or '0') + 1) end
    end
    if attempt then
      local expiry = expiryFor(record)
      if records[i] then
        redis.call('HSET', taskKey, 'r', record, 'tp', topic, 'st', 'leased', 'at', '1', 'tk', token, 'lx', expiry)
        fromPending[#fromPending + 1] = id
      else
        redis.call('HSET', taskKey, 'st', 'leased', 'at', attempt, 'tk', token, 'lx', expiry)
      end
      taken = taken + 1
      leasedArgs[taken * 2 - 1] = expiry
      leasedArgs[taken * 2] = id
      event('leased', id, topic, attempt)
      out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = id, record, attempt, token, expiry
      n = n + 5
    end
  end
  -- Every id leaves the ready queue (one with neither hash nor pending record has no task).
  inChunks('ZREM', KEYS[2], ids)
  inChunks('HDEL', KEYS[9], fromPending)
  if taken > 0 then
    inChunks('ZADD', KEYS[3], leasedArgs)
    count(KEYS[5], topic, 'ready', -#ids)
    count(KEYS[5], topic, 'leased', taken)
    refreshHead(KEYS[3], KEYS[4], topic)
    redis.call('SET', KEYS[8], tokenPrefix .. ' ' .. table.concat(ids, ' '), 'PX', ARGV[7])
  elseif #ids > 0 then
    count(KEYS[5], topic, 'ready', -#ids)
  end
  return out
end

local reply = run()
flushEvents(KEYS[6], ARGV[6])
return reply
