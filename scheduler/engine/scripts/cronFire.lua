--[[
  cronFire: applies the fire plans of one or more schedules of one topic, each atomically with
  the others: creates the occurrence task of each slot to fire (id "<sid>:<slot>-<shard>", so a
  slot can never get two; a slot not yet due is created as a scheduled task due at it), records
  missed slots, and advances the schedule to its next slot with a compare-and-set on (generation,
  next slot): a schedule whose state changed since its plan was made is left untouched and
  answered "stale". Fenced by the shard epoch. Forbid is decided here, against the schedule's
  unfinished occurrences, and Replace cancels them here (common.lua cancelTask). A manual
  trigger checks no compare-and-set and keeps the next slot.

  KEYS[1] epoch  KEYS[2] cron-due  KEYS[3] task-key prefix  KEYS[4] pending  KEYS[5] scheduled:T
  KEYS[6] ready:T  KEYS[7] due-topics  KEYS[8] counts  KEYS[9] events
  KEYS[10] shard base (cron:<sid>, cron-active:<sid>, cron-missed:<sid> are derived from it)

  ARGV[1] epoch  ARGV[2] topic  ARGV[3] events max length  ARGV[4] wake channel  ARGV[5] shard
  ARGV[6] finished retention ms (of occurrences cancelled by Replace)
  ARGV[7] trigger request id ("" = none; only with one manual plan): a call with a request id
    that created an occurrence of the same schedule within the memo retention answers that
    occurrence again ("ok", nothing created, 1 existing, its slot) instead of creating another
  ARGV[8] trigger request memo retention ms
  ARGV[9] number of schedules (s), then s plans, each:
    schedule id, manual (1 | 0), expected generation, expected next slot, new next slot ("" =
    none), new fire-at ("" = none), concurrency policy (Allow | Forbid | Replace), task source:
    "a" followed by the task (priority, max attempts, backoff, lease timeout ms, owner JSON (""),
    traceparent (""), payload), or "s" alone: the task template the upsert of the expected
    generation stored (fields task, taskPrio, taskGen; a schedule without one for that generation
    is answered "stale"), then missed history limit, missed slots in total, max runs (0 = none: the schedule ends, with no
    next slot, once its runs reach it),
    number of slots to fire (f), then f pairs: slot ms, due ms,
    number of missed slots to record (m), then m pairs: slot ms, reason
  ARGV[last] the Redis-clock instant the plans were made for ("" = none: a manual trigger). Every
    slot a plan calls due or missed is at or before it, so a plan made for an instant Redis TIME
    has not reached (a client's clock estimate ahead) is refused whole with CLOCK_AHEAD before
    anything is written: Redis TIME alone decides that a slot has come (docs/CORRECTNESS.md).

  Returns s groups of 6: status ("ok" | "stale" | "notfound"), created, skipped (Forbid; for a
  manual plan: refused, and neither counted in the schedule's skipped nor recorded),
  already existing, created ready (due already: the caller wakes lease waiters), and the slot of
  the manual occurrence created or answered again (0 otherwise). Errors: STALE_EPOCH,
  CLOCK_AHEAD <redis now> <planned at>.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local topic, base, shard = ARGV[2], KEYS[10], ARGV[5]
  local now = nowMs()
  local plannedAt = tonumber(ARGV[#ARGV])
  if plannedAt and plannedAt > now then
    return redis.error_reply('CLOCK_AHEAD ' .. int(now) .. ' ' .. int(plannedAt))
  end
  local out = {}
  local toReady, toScheduled, prioritized = 0, 0, 0
  local readyArgs, scheduledArgs = {}, {}
  local pos = 10

  local function nextArg()
    local value = ARGV[pos]
    pos = pos + 1
    return value
  end

  -- The memo is the schedule's (request ids are the client's, reused across schedules maybe):
  -- the plan's schedule id is its first argument.
  local triggerKey = ARGV[7] ~= '' and (KEYS[10] .. 'trigger-req:' .. ARGV[10] .. ':' .. ARGV[7]) or nil
  if triggerKey then
    local slot = redis.call('GET', triggerKey)
    if slot then return {'ok', 0, 0, 1, 0, tonumber(slot)} end
  end

  for _ = 1, tonumber(ARGV[9]) do
    local sid, manual = nextArg(), nextArg() == '1'
    local expectedGen, expectedNext, newNext, newFireAt = nextArg(), nextArg(), nextArg(), nextArg()
    local policy, source = nextArg(), nextArg()
    local priority, maxAttempts, backoff, leaseTimeout, owner, trace, payload
    if source == 'a' then
      priority, maxAttempts, backoff, leaseTimeout = nextArg(), nextArg(), nextArg(), nextArg()
      owner, trace, payload = nextArg(), nextArg(), nextArg()
    end
    local missLimit, missedTotal, maxRuns = tonumber(nextArg()), tonumber(nextArg()), tonumber(nextArg())
    local fires = {}
    for i = 1, tonumber(nextArg()) do fires[i] = { nextArg(), tonumber(nextArg()) } end
    local missed = {}
    for i = 1, tonumber(nextArg()) do missed[i] = { nextArg(), nextArg() } end

    local key = base .. 'cron:' .. sid
    local activeKey = base .. 'cron-active:' .. sid
    local state
    if source == 's' then
      state = redis.call('HMGET', key, 'gen', 'next', 'susp', 'runs', 'missed', 'skipped', 'taskGen', 'task', 'taskPrio')
    else
      state = redis.call('HMGET', key, 'gen', 'next', 'susp', 'runs', 'missed', 'skipped')
    end
    local template
    if source == 's' and state[1] and state[7] == state[1] then template, priority = state[8], state[9] end
    local o = #out
    if not state[1] then
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] = 'notfound', 0, 0, 0, 0, 0
    elseif (not manual and (state[1] ~= expectedGen or state[2] ~= expectedNext or state[3] == '1'))
      or (source == 's' and not (template and priority and state[1] == expectedGen)) then
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] = 'stale', 0, 0, 0, 0, 0
    else
      local created, skipped, existing, createdReady = 0, 0, 0, 0
      local lastSlot
      local history = {}

      -- Forbid: is an earlier occurrence unfinished? Finished ones leave the active set here too.
      local function running()
        for _, id in ipairs(redis.call('SMEMBERS', activeKey)) do
          local st = redis.call('HGET', KEYS[3] .. id, 'st')
          if st == 'waiting' or st == 'leased' or (not st and redis.call('HEXISTS', KEYS[4], id) == 1) then
            return id
          end
          redis.call('SREM', activeKey, id)
        end
        return nil
      end

      local function occurrenceId(slot)
        return sid .. ':' .. (manual and 'm' or '') .. slot .. '-' .. shard
      end

      -- Replace: the schedule's unfinished occurrences are cancelled (a leased one is asked to
      -- stop) in the same atomic step that creates the new one, so a plan that lost its
      -- compare-and-set cancels nothing. A resent fire does not cancel the occurrence it made.
      if policy == 'Replace' and #fires > 0 then
        local firing = {}
        for _, f in ipairs(fires) do firing[occurrenceId(f[1])] = true end
        for _, activeId in ipairs(redis.call('SMEMBERS', activeKey)) do
          if not firing[activeId] and not cancelTask(base, activeId, nil, ARGV[6]) then
            redis.call('SREM', activeKey, activeId)
          end
        end
      end

      for _, f in ipairs(fires) do
        local slot, dueAt = f[1], f[2]
        local id = occurrenceId(slot)
        local blocker = policy == 'Forbid' and running() or nil
        if redis.call('HEXISTS', KEYS[4], id) == 1 or redis.call('EXISTS', KEYS[3] .. id) == 1 then
          existing = existing + 1
        elseif blocker then
          skipped = skipped + 1
          -- A refused manual trigger is not a slot: the caller is answered, nothing is recorded.
          if not manual then
            history[#history + 1] = { tonumber(slot), cjson.encode({ slot = tonumber(slot), outcome = 'skipped',
              reason = 'Forbid: occurrence ' .. blocker .. ' is still running', at = now }) }
            event('skipped', id, topic, 0)
          end
        else
          if template then
            redis.call('HSET', KEYS[4], id, topic .. '\n' .. int(dueAt) .. '\n' .. template)
          else
            redis.call('HSET', KEYS[4], id, packPending(topic, int(dueAt), priority, maxAttempts, backoff, leaseTimeout,
              '', owner, trace, payload))
          end
          if dueAt <= now then
            readyArgs[#readyArgs + 1] = readyScore(priority, dueAt)
            readyArgs[#readyArgs + 1] = id
            toReady = toReady + 1
            createdReady = createdReady + 1
            event('ready', id, topic, 0)
          else
            scheduledArgs[#scheduledArgs + 1] = int(dueAt)
            scheduledArgs[#scheduledArgs + 1] = id
            toScheduled = toScheduled + 1
            if priority ~= '0' then prioritized = prioritized + 1 end
            event('scheduled', id, topic, 0)
          end
          redis.call('SADD', activeKey, id)
          lastSlot = slot
          created = created + 1
        end
      end

      for _, m in ipairs(missed) do
        history[#history + 1] = { tonumber(m[1]), cjson.encode({ slot = tonumber(m[1]), outcome = 'missed', reason = m[2], at = now }) }
        event('missed', sid .. ':' .. m[1] .. '-' .. shard, topic, 0)
      end
      if #history > 0 and missLimit > 0 then
        -- Oldest first into the list's head, so the newest ends up first.
        table.sort(history, function(a, b) return a[1] < b[1] end)
        local entries = {}
        for i, h in ipairs(history) do entries[i] = h[2] end
        inChunks('LPUSH', base .. 'cron-missed:' .. sid, entries)
        redis.call('LTRIM', base .. 'cron-missed:' .. sid, 0, missLimit - 1)
      end
      -- The schedule's new state in one HSET (counters from the HMGET above: the script is atomic).
      local runs = tonumber(state[4] or '0') + created
      if maxRuns > 0 and runs >= maxRuns then newNext, newFireAt = '', '' end
      local fields = { 'runs', int(runs) }
      -- A manual run is not a slot: `last` (the last scheduled slot) stays what the schedule fired.
      if lastSlot and not manual then fields[#fields + 1], fields[#fields + 2] = 'last', lastSlot end
      if missedTotal > 0 then
        fields[#fields + 1], fields[#fields + 2] = 'missed', int(tonumber(state[5] or '0') + missedTotal)
      end
      if skipped > 0 and not manual then
        fields[#fields + 1], fields[#fields + 2] = 'skipped', int(tonumber(state[6] or '0') + skipped)
      end
      if not manual then
        fields[#fields + 1], fields[#fields + 2] = 'next', newNext
        fields[#fields + 1], fields[#fields + 2] = 'fireAt', newFireAt
      end
      redis.call('HSET', key, unpack(fields))
      if not manual then
        if newNext == '' then
          redis.call('ZREM', KEYS[2], sid)
        else
          redis.call('ZADD', KEYS[2], newFireAt, sid)
        end
      end
      local manualSlot = 0
      if manual and lastSlot then
        manualSlot = tonumber(lastSlot)
        if triggerKey then redis.call('SET', triggerKey, lastSlot, 'PX', ARGV[8]) end
      end
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] =
        'ok', created, skipped, existing, createdReady, manualSlot
    end
  end

  inChunks('ZADD', KEYS[6], readyArgs)
  inChunks('ZADD', KEYS[5], scheduledArgs)
  count(KEYS[8], topic, 'ready', toReady)
  count(KEYS[8], topic, 'scheduled', toScheduled)
  count(KEYS[8], topic, 'prioritized', prioritized)
  if toScheduled > 0 then refreshHeadAndWake(KEYS[5], KEYS[7], topic, ARGV[4]) end
  return out
end

local reply = run()
flushEvents(KEYS[9], ARGV[3])
return reply
