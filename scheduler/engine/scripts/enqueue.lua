--[[
  enqueue: creates one or more tasks of one topic in one shard. Each new task's record goes into
  the shard's pending hash (see includes/common.lua); its id into the ready queue when it is due
  now or earlier, else into the scheduled set (and the topic's earliest due time is refreshed; if
  it became the shard's earliest, the firing loop is woken).
  Idempotent under resend: an id that exists is returned, not created again. An idempotency key
  that exists returns its task if the fingerprint (topic + payload) matches, and fails with
  IDEMPOTENCY_CONFLICT otherwise. All-or-nothing: every task is checked before any is written.

  KEYS[1] epoch            KEYS[5] due-topics
  KEYS[2] task-key prefix  KEYS[6] counts
  KEYS[3] scheduled:T      KEYS[7] events
  KEYS[4] ready:T          KEYS[8] idempotency-key prefix
  KEYS[9] pending

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] horizon ms  ARGV[4] events max length
  ARGV[5] idempotency retention ms  ARGV[6] wake channel
  ARGV[7] number of profiles (p), then p groups of 4 (settings shared by tasks of the batch):
    priority, max attempts, backoff, lease timeout ms
  then the number of tasks (n), then n groups of 5:
    id, payload, due ("a<ms>" absolute | "i<ms>" delay), profile index (1-based),
    extras ("" or JSON {"ik": idempotency key, "fp": fingerprint, "ow": owner JSON,
    "tc": traceparent}, each optional)

  Returns n groups of 4: status ("created" | "exists"), id, state, due time ms.
  Errors: STALE_EPOCH, IDEMPOTENCY_CONFLICT index=<i> id=<existing>, HORIZON index=<i>.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic = ARGV[2]
  local horizonMs = tonumber(ARGV[3])
  local idemRetention = ARGV[5]
  local profileCount = tonumber(ARGV[7])
  local profiles = {}
  for p = 1, profileCount do
    local b = 8 + (p - 1) * 4
    profiles[p] = { ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3] }
  end
  local first = 8 + profileCount * 4
  local n = tonumber(ARGV[first])
  local now = nowMs()
  local FIELDS = 5

  local function dueOf(i)
    local due = ARGV[first + 3 + i * FIELDS]
    local value = tonumber(string.sub(due, 2))
    if string.sub(due, 1, 1) == 'i' then return now + value end
    return value
  end

  local function extrasOf(i)
    local raw = ARGV[first + 5 + i * FIELDS]
    if raw == '' then return nil end
    return cjson.decode(raw)
  end

  -- Validate all before writing any, so a batch is all-or-nothing.
  for i = 0, n - 1 do
    local dueAt = dueOf(i)
    if dueAt > now + horizonMs then
      return redis.error_reply('HORIZON index=' .. i .. ' due=' .. int(dueAt) .. ' max=' .. int(now + horizonMs))
    end
    local extras = extrasOf(i)
    if extras and extras.ik then
      local existing = redis.call('GET', KEYS[8] .. extras.ik)
      if existing then
        local sep = string.find(existing, ' ', 1, true)
        if string.sub(existing, sep + 1) ~= extras.fp then
          return redis.error_reply('IDEMPOTENCY_CONFLICT index=' .. i .. ' id=' .. string.sub(existing, 1, sep - 1))
        end
      end
    end
  end

  local createdNow = {}
  local function stateOf(id)
    if createdNow[id] then return createdNow[id][1], createdNow[id][2] end
    local f = redis.call('HMGET', KEYS[2] .. id, 'st', 'due', 'r')
    local state, due = f[1], f[2]
    if state then
      due = due or string.match(f[3] or '', RECORD_DUE) or '0'
    else
      local record = redis.call('HGET', KEYS[9], id)
      if not record then return 'expired', '0' end
      state, due = 'waiting', string.match(record, RECORD_DUE)
    end
    if state == 'waiting' then
      state = redis.call('ZSCORE', KEYS[4], id) and 'ready' or 'scheduled'
    end
    return state, due
  end

  local created = { ready = 0, scheduled = 0 }
  local prioritized = 0
  local pendingArgs, readyArgs, scheduledArgs = {}, {}, {}
  local out = {}
  for i = 0, n - 1 do
    local b = first + 1 + i * FIELDS
    local id = ARGV[b]
    local extras = extrasOf(i)
    local existingId = nil
    if extras and extras.ik then
      local existing = redis.call('GET', KEYS[8] .. extras.ik)
      if existing then existingId = string.sub(existing, 1, string.find(existing, ' ', 1, true) - 1) end
    end
    if existingId == nil and (createdNow[id] or redis.call('HEXISTS', KEYS[9], id) == 1
        or redis.call('EXISTS', KEYS[2] .. id) == 1) then
      existingId = id
    end
    local o = #out
    if existingId then
      local state, due = stateOf(existingId)
      out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 'exists', existingId, state, due
    else
      local dueAt = dueOf(i)
      local profile = profiles[tonumber(ARGV[b + 3])]
      local priority = profile[1]
      local state
      if dueAt <= now then
        state = 'ready'
        readyArgs[#readyArgs + 1] = readyScore(priority, dueAt)
        readyArgs[#readyArgs + 1] = id
      else
        state = 'scheduled'
        scheduledArgs[#scheduledArgs + 1] = int(dueAt)
        scheduledArgs[#scheduledArgs + 1] = id
        if priority ~= '0' then prioritized = prioritized + 1 end
      end
      pendingArgs[#pendingArgs + 1] = id
      pendingArgs[#pendingArgs + 1] = packPending(topic, int(dueAt), priority, profile[2], profile[3], profile[4],
        extras and extras.ik or '', extras and extras.ow or '', extras and extras.tc or '', ARGV[b + 1])
      if extras and extras.ik then
        redis.call('SET', KEYS[8] .. extras.ik, id .. ' ' .. extras.fp, 'PX', idemRetention)
      end
      createdNow[id] = { state, int(dueAt) }
      created[state] = created[state] + 1
      event(state, id, topic, 0)
      out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 'created', id, state, int(dueAt)
    end
  end
  inChunks('HSET', KEYS[9], pendingArgs)
  inChunks('ZADD', KEYS[4], readyArgs)
  inChunks('ZADD', KEYS[3], scheduledArgs)

  count(KEYS[6], topic, 'ready', created.ready)
  count(KEYS[6], topic, 'scheduled', created.scheduled)
  count(KEYS[6], topic, 'prioritized', prioritized)
  if created.scheduled > 0 then refreshHeadAndWake(KEYS[3], KEYS[5], topic, ARGV[6]) end
  return out
end

local reply = run()
flushEvents(KEYS[7], ARGV[4])
return reply
