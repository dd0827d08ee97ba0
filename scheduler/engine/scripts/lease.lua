--[[
  lease: hands up to `max` ready tasks of some topics of one shard to a worker (ready -> leased):
  topic by topic in the order given, each topic's in priority then due-time order. One call per
  shard serves every topic of a lease: an empty topic costs one ZRANGE here, not a call. Each
  task gets a lease token and an expiry (now + its lease timeout, or the caller's override); the
  attempt count is incremented. A task leased for the first time is written out from the pending
  hash as its own task hash. Idempotent under resend: the answer is remembered under the request
  id, and a resent request gets the same tasks, not new ones.

  KEYS[1] epoch  KEYS[2] lease-topics  KEYS[3] counts  KEYS[4] events
  KEYS[5] task-key prefix  KEYS[6] lease-request key  KEYS[7] pending  KEYS[8] shard base
  (a topic T's ready:T and leased:T keys are the shard base followed by "ready:T", "leased:T")

  ARGV[1] epoch  ARGV[2] max  ARGV[3] lease timeout override ms (0 = task's)
  ARGV[4] token prefix (random, per request)  ARGV[5] events max length
  ARGV[6] request-memo retention ms  ARGV[7..] the topics, in the order to serve them

  Returns {tasks, drained}: tasks in groups of 6 per task: id, topic, record (the packed record
  of includes/common.lua: the caller takes payload, max attempts, traceparent and owner from it),
  attempt, lease token, lease expiry ms; drained: the topics whose ready queue this call found
  or left empty (a topic not reached because `max` was met is not listed). A replayed answer
  lists none.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local out = {}
  local n = 0

  -- The memo of a request: "<token prefix> <id 1> <id 2> ...", the ids the first call took
  -- from the ready queues, in order; the i-th one's token was "<token prefix><i>".
  local memo = redis.call('GET', KEYS[6])
  if memo then
    local tokenPrefix, i = nil, 0
    for word in string.gmatch(memo, '%S+') do
      if not tokenPrefix then
        tokenPrefix = word
      else
        i = i + 1
        local token = tokenPrefix .. i
        local f = redis.call('HMGET', KEYS[5] .. word, 'r', 'at', 'lx', 'st', 'tk', 'tp')
        if f[4] == 'leased' and f[5] == token then
          out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5], out[n + 6] =
            word, f[6], f[1], f[2], token, f[3]
          n = n + 6
        end
      end
    end
    return {out, {}}
  end

  local now = nowMs()
  local max = tonumber(ARGV[2])
  local override = tonumber(ARGV[3])
  local tokenPrefix = ARGV[4]
  local base = KEYS[8]
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

  local allIds = {}
  local drained = {}
  local taken = 0
  for t = 7, #ARGV do
    local want = max - #allIds
    if want <= 0 then break end
    local topic = ARGV[t]
    local readyKey = base .. 'ready:' .. topic
    local ids = redis.call('ZRANGE', readyKey, 0, want - 1)
    if #ids < want then drained[#drained + 1] = topic end
    if #ids > 0 then
      -- The pending records of the batch, read in one HMGET per 1,000 ids (false: not pending).
      local records = {}
      for c = 1, #ids, 1000 do
        local part = redis.call('HMGET', KEYS[7], unpack(ids, c, math.min(c + 999, #ids)))
        for j = 1, #part do records[c + j - 1] = part[j] end
      end
      local leasedArgs, fromPending = {}, {}
      local topicTaken = 0
      for i, id in ipairs(ids) do
        local taskKey = KEYS[5] .. id
        allIds[#allIds + 1] = id
        local token = tokenPrefix .. #allIds
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
          topicTaken = topicTaken + 1
          leasedArgs[topicTaken * 2 - 1] = expiry
          leasedArgs[topicTaken * 2] = id
          event('leased', id, topic, attempt)
          out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5], out[n + 6] =
            id, topic, record, attempt, token, expiry
          n = n + 6
        end
      end
      -- Every id leaves the ready queue (one with neither hash nor pending record has no task).
      inChunks('ZREM', readyKey, ids)
      inChunks('HDEL', KEYS[7], fromPending)
      count(KEYS[3], topic, 'ready', -#ids)
      if topicTaken > 0 then
        local leasedKey = base .. 'leased:' .. topic
        inChunks('ZADD', leasedKey, leasedArgs)
        count(KEYS[3], topic, 'leased', topicTaken)
        refreshHead(leasedKey, KEYS[2], topic)
        taken = taken + topicTaken
      end
    end
  end
  if taken > 0 then
    redis.call('SET', KEYS[6], tokenPrefix .. ' ' .. table.concat(allIds, ' '), 'PX', ARGV[6])
  end
  return {out, drained}
end

local reply = run()
flushEvents(KEYS[4], ARGV[5])
return reply
