--[[
  fail: the worker holding the lease reports failure. Retryable with attempts left -> scheduled
  again after the backoff delay; cancellation requested -> cancelled; otherwise -> dead (the
  shard's dead-letter set). Idempotent: a resent fail of the same lease answers with the outcome
  already recorded, while the task is still where that fail left it (no lease, cancel or requeue
  since); otherwise the token is stale, as for ack and extend.

  KEYS[1] epoch  KEYS[2] task key  KEYS[3] leased:T  KEYS[4] lease-topics  KEYS[5] scheduled:T
  KEYS[6] due-topics  KEYS[7] dead  KEYS[8] finished  KEYS[9] counts  KEYS[10] events
  KEYS[11] shard base (for cron history)

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] lease token  ARGV[4] error message
  ARGV[5] retryable (1 | 0)  ARGV[6] jitter draw in [0, 1)  ARGV[7] events max length
  ARGV[8] topic  ARGV[9] finished retention ms  ARGV[10] wake channel

  Returns {outcome ("retrying" | "dead" | "cancelled"), due time ms of the retry (0 otherwise)}.
  Errors: STALE_EPOCH, NOT_FOUND, STALE_LEASE <state>.

  Task hash fields written: lf (the lease token of the last applied fail), lo (its outcome).
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local id = ARGV[2]
  local topic = ARGV[8]
  local f = redis.call('HMGET', KEYS[2], 'st', 'tk', 'at', 'r', 'cr', 'lf', 'due', 'tp', 'lo')
  if not f[1] or f[8] ~= topic then return redis.error_reply('NOT_FOUND') end
  -- Record fields: [2] due, [3] priority, [4] max attempts, [5] backoff.
  local r = unpackPending(f[4] or '')
  if f[6] == ARGV[3] and f[2] == ARGV[3] then
    -- This lease's failure was already applied and no lease came since (a lease replaces tk):
    -- a resend answers as the first time while the task is still in the state that fail left it
    -- ('lo' is unset on tasks failed before it was recorded: their state tells).
    local outcome = f[9] or ({waiting = 'retrying', dead = 'dead', cancelled = 'cancelled'})[f[1]]
    local left = ({retrying = 'waiting', dead = 'dead', cancelled = 'cancelled'})[outcome or '']
    if left and f[1] == left then
      return {outcome, outcome == 'retrying' and tonumber(f[7] or r[2]) or 0}
    end
  end
  if f[1] ~= 'leased' or f[2] ~= ARGV[3] then return redis.error_reply('STALE_LEASE ' .. f[1]) end

  local now = nowMs()
  local attempt = tonumber(f[3]) or 0
  -- Decide everything before the first write: a script that raises after writing would leave
  -- its writes (Redis does not roll a script back).
  local retryAt = nil
  if f[5] ~= '1' and ARGV[5] == '1' and attempt < (tonumber(r[4]) or 1) then
    -- Backoff: "f:<ms>" fixed, or "e:<initial>:<max>:<jitter>" exponential with jitter and cap.
    local parts = {}
    for part in string.gmatch(r[5] or '', '[^:]+') do parts[#parts + 1] = part end
    local delay
    if parts[1] == 'f' then
      delay = tonumber(parts[2]) or 0
    else
      local initial, cap, jitter = tonumber(parts[2]) or 0, tonumber(parts[3]) or 0, tonumber(parts[4]) or 0
      delay = math.min(initial * math.pow(2, attempt - 1), cap) * (1 - jitter * (tonumber(ARGV[6]) or 0))
    end
    retryAt = now + math.max(0, math.floor(delay))
  end

  local outcome = (f[5] == '1' and 'cancelled') or (retryAt and 'retrying') or 'dead'
  redis.call('ZREM', KEYS[3], id)
  refreshHead(KEYS[3], KEYS[4], topic)
  redis.call('HSET', KEYS[2], 'le', ARGV[4], 'lf', ARGV[3], 'lo', outcome)
  count(KEYS[9], topic, 'leased', -1)

  if f[5] == '1' then
    finish(KEYS[2], KEYS[8], id, 'cancelled', now, ARGV[9])
    count(KEYS[9], topic, 'cancelled', 1)
    event('cancelled', id, topic, attempt)
    recordOccurrence(KEYS[11], id, 'cancelled', now, attempt)
    return {'cancelled', 0}
  end

  if retryAt then
    local dueAt = retryAt
    redis.call('ZADD', KEYS[5], int(dueAt), id)
    redis.call('HSET', KEYS[2], 'st', 'waiting', 'due', int(dueAt))
    refreshHeadAndWake(KEYS[5], KEYS[6], topic, ARGV[10])
    count(KEYS[9], topic, 'scheduled', 1)
    count(KEYS[9], topic, 'retries', 1)
    if r[3] and r[3] ~= '0' then count(KEYS[9], topic, 'prioritized', 1) end
    event('retrying', id, topic, attempt)
    return {'retrying', dueAt}
  end

  redis.call('HSET', KEYS[2], 'st', 'dead', 'fa', int(now))
  redis.call('ZADD', KEYS[7], int(now), id)
  count(KEYS[9], topic, 'dead', 1)
  event('dead', id, topic, attempt)
  recordOccurrence(KEYS[11], id, 'dead', now, attempt)
  return {'dead', 0}
end

local reply = run()
flushEvents(KEYS[10], ARGV[7])
return reply
