--[[
  enqueue: creates one or more tasks of one topic in one shard.

  A task due now or earlier goes straight to the ready queue; a later one to the scheduled set
  (and the topic's earliest due time is refreshed; if it became the shard's earliest, the firing
  loop is woken). Idempotent under resend: an id that exists is returned, not created again.
  An idempotency key that exists returns its task if the fingerprint (topic + payload) matches,
  and fails with IDEMPOTENCY_CONFLICT otherwise.

  KEYS[1] epoch            KEYS[5] due-topics
  KEYS[2] task-key prefix  KEYS[6] counts
  KEYS[3] scheduled:T      KEYS[7] events
  KEYS[4] ready:T          KEYS[8] idempotency-key prefix

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] horizon ms  ARGV[4] events max length
  ARGV[5] idempotency retention ms  ARGV[6] wake channel  ARGV[7] number of tasks (n)
  then n groups of 12 fields:
    id, payload, due kind ("at" | "in"), due value ms, priority, max attempts, backoff,
    lease timeout ms, idempotency key ("" = none), fingerprint, owner JSON (""), traceparent ("")

  Returns n groups of 4: status ("created" | "exists"), id, state, due time ms.
  Errors: STALE_EPOCH, IDEMPOTENCY_CONFLICT <existing id> (index i), HORIZON (index i).
]]
-- @include "common"

local err = checkEpoch(KEYS[1], ARGV[1])
if err then return err end

local topic = ARGV[2]
local horizonMs = tonumber(ARGV[3])
local maxLen = ARGV[4]
local idemRetention = ARGV[5]
local n = tonumber(ARGV[7])
local now = nowMs()
local FIELDS = 12
local out = {}

-- Validate all before writing any, so a batch is all-or-nothing.
for i = 0, n - 1 do
  local b = 8 + i * FIELDS
  local dueValue = tonumber(ARGV[b + 3])
  local dueAt = (ARGV[b + 2] == 'in') and (now + dueValue) or dueValue
  if dueAt > now + horizonMs then
    return redis.error_reply('HORIZON index=' .. i .. ' due=' .. int(dueAt) .. ' max=' .. int(now + horizonMs))
  end
  local idemKey = ARGV[b + 8]
  if idemKey ~= '' then
    local existing = redis.call('GET', KEYS[8] .. idemKey)
    if existing then
      local sep = string.find(existing, ' ', 1, true)
      if string.sub(existing, sep + 1) ~= ARGV[b + 9] then
        return redis.error_reply('IDEMPOTENCY_CONFLICT index=' .. i .. ' id=' .. string.sub(existing, 1, sep - 1))
      end
    end
  end
end

local created = { ready = 0, scheduled = 0 }
local headBefore = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
for i = 0, n - 1 do
  local b = 8 + i * FIELDS
  local id = ARGV[b]
  local taskKey = KEYS[2] .. id
  local idemKey = ARGV[b + 8]
  local existingId = nil
  if idemKey ~= '' then
    local existing = redis.call('GET', KEYS[8] .. idemKey)
    if existing then existingId = string.sub(existing, 1, string.find(existing, ' ', 1, true) - 1) end
  end
  if existingId == nil and redis.call('EXISTS', taskKey) == 1 then existingId = id end
  if existingId then
    local found = redis.call('HMGET', KEYS[2] .. existingId, 'st', 'due')
    table.insert(out, 'exists')
    table.insert(out, existingId)
    table.insert(out, found[1] or 'expired')
    table.insert(out, found[2] or '0')
  else
    local dueValue = tonumber(ARGV[b + 3])
    local dueAt = (ARGV[b + 2] == 'in') and (now + dueValue) or dueValue
    local priority = ARGV[b + 4]
    local state
    if dueAt <= now then
      state = 'ready'
      redis.call('ZADD', KEYS[4], readyScore(priority, dueAt), id)
    else
      state = 'scheduled'
      redis.call('ZADD', KEYS[3], int(dueAt), id)
    end
    redis.call('HSET', taskKey, 'tp', topic, 'st', state, 'due', int(dueAt),
      'ma', ARGV[b + 5], 'bo', ARGV[b + 6], 'lt', ARGV[b + 7], 'at', 0, 'pl', ARGV[b + 1])
    if priority ~= '0' then redis.call('HSET', taskKey, 'pr', priority) end
    if idemKey ~= '' then
      redis.call('HSET', taskKey, 'ik', idemKey)
      redis.call('SET', KEYS[8] .. idemKey, id .. ' ' .. ARGV[b + 9], 'PX', idemRetention)
    end
    if ARGV[b + 10] ~= '' then redis.call('HSET', taskKey, 'ow', ARGV[b + 10]) end
    if ARGV[b + 11] ~= '' then redis.call('HSET', taskKey, 'tc', ARGV[b + 11]) end
    created[state] = created[state] + 1
    emit(KEYS[7], maxLen, state == 'ready' and 'ready' or 'scheduled', id, topic, 0)
    table.insert(out, 'created')
    table.insert(out, id)
    table.insert(out, state)
    table.insert(out, int(dueAt))
  end
end

if created.ready > 0 then count(KEYS[6], topic, 'ready', created.ready) end
if created.scheduled > 0 then count(KEYS[6], topic, 'scheduled', created.scheduled) end
local before = headBefore[2] and tonumber(headBefore[2]) or nil
refreshHead(KEYS[3], KEYS[5], topic)
local headAfter = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
if headAfter[2] and (before == nil or tonumber(headAfter[2]) < before) then
  redis.call('PUBLISH', ARGV[6], headAfter[2])
end
return out
