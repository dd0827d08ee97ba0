--[[
  cronFire: applies a fire plan to a schedule, atomically: creates the occurrence task of each
  slot to fire (id "<sid>:<slot>-<shard>", so a slot can never get two), records missed slots,
  and advances the schedule to its next slot with a compare-and-set on (generation, next slot):
  if another fire or an edit came first, nothing is written and the answer is "stale". Fenced by
  the shard epoch. Forbid is decided here, against the schedule's unfinished occurrences.
  A manual trigger (ARGV[20] = 1) checks no compare-and-set and leaves the next slot alone.

  KEYS[1] epoch  KEYS[2] cron:<sid>  KEYS[3] cron-due  KEYS[4] task-key prefix  KEYS[5] pending
  KEYS[6] scheduled:T  KEYS[7] ready:T  KEYS[8] due-topics  KEYS[9] counts  KEYS[10] events
  KEYS[11] cron-active:<sid>  KEYS[12] cron-missed:<sid>

  ARGV[1] epoch  ARGV[2] schedule id  ARGV[3] expected generation  ARGV[4] expected next slot
  ARGV[5] new next slot ("" = none)  ARGV[6] new fire-at ("" = none)  ARGV[7] topic
  ARGV[8] events max length  ARGV[9] concurrency policy (Allow | Forbid | Replace)
  ARGV[10] priority  ARGV[11] max attempts  ARGV[12] backoff  ARGV[13] lease timeout ms
  ARGV[14] owner JSON ("")  ARGV[15] traceparent ("")  ARGV[16] payload  ARGV[17] shard
  ARGV[18] wake channel  ARGV[19] missed history limit  ARGV[20] manual (1 | 0)
  ARGV[21] missed slots in total (counted)
  ARGV[22] number of slots to fire (f), then f groups of 2: slot ms, due ms
  then the number of missed slots to record (m), then m groups of 2: slot ms, reason

  Returns {"ok", created, skipped (Forbid), already existing} or {"stale"}.
  Errors: STALE_EPOCH, NOT_FOUND.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local sid = ARGV[2]
  local state = redis.call('HMGET', KEYS[2], 'gen', 'next', 'susp')
  if not state[1] then return redis.error_reply('NOT_FOUND') end
  local manual = ARGV[20] == '1'
  if not manual and (state[1] ~= ARGV[3] or state[2] ~= ARGV[4] or state[3] == '1') then
    return {'stale'}
  end

  local topic = ARGV[7]
  local now = nowMs()
  local created, skipped, existing = 0, 0, 0
  local toReady, toScheduled, prioritized = 0, 0, 0
  local missedList = {}

  -- Forbid: is an earlier occurrence unfinished? Finished ones leave the active set here too.
  local function running()
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[11])) do
      local st = redis.call('HGET', KEYS[4] .. id, 'st')
      local unfinished = (st == 'waiting' or st == 'leased')
        or (not st and redis.call('HEXISTS', KEYS[5], id) == 1)
      if unfinished then return id end
      redis.call('SREM', KEYS[11], id)
    end
    return nil
  end

  local fires = tonumber(ARGV[22])
  for i = 0, fires - 1 do
    local slot, dueAt = ARGV[23 + i * 2], tonumber(ARGV[24 + i * 2])
    local id = sid .. ':' .. (manual and 'm' or '') .. slot .. '-' .. ARGV[17]
    local blocker = ARGV[9] == 'Forbid' and running() or nil
    if redis.call('HEXISTS', KEYS[5], id) == 1 or redis.call('EXISTS', KEYS[4] .. id) == 1 then
      existing = existing + 1
    elseif blocker then
      skipped = skipped + 1
      missedList[#missedList + 1] = cjson.encode({ slot = tonumber(slot), outcome = 'skipped',
        reason = 'Forbid: occurrence ' .. blocker .. ' is still running', at = now })
      event('skipped', id, topic, 0)
    else
      redis.call('HSET', KEYS[5], id, packPending(topic, int(dueAt), ARGV[10], ARGV[11], ARGV[12], ARGV[13],
        '', ARGV[14], ARGV[15], ARGV[16]))
      if dueAt <= now then
        redis.call('ZADD', KEYS[7], readyScore(ARGV[10], dueAt), id)
        toReady = toReady + 1
        event('ready', id, topic, 0)
      else
        redis.call('ZADD', KEYS[6], int(dueAt), id)
        toScheduled = toScheduled + 1
        if ARGV[10] ~= '0' then prioritized = prioritized + 1 end
        event('scheduled', id, topic, 0)
      end
      redis.call('SADD', KEYS[11], id)
      redis.call('HSET', KEYS[2], 'last', slot)
      created = created + 1
    end
  end

  local base = 23 + fires * 2
  local recorded = tonumber(ARGV[base])
  for i = 0, recorded - 1 do
    local slot, reason = ARGV[base + 1 + i * 2], ARGV[base + 2 + i * 2]
    missedList[#missedList + 1] = cjson.encode({ slot = tonumber(slot), outcome = 'missed', reason = reason, at = now })
    event('missed', sid .. ':' .. slot .. '-' .. ARGV[17], topic, 0)
  end
  local limit = tonumber(ARGV[19])
  if #missedList > 0 and limit > 0 then
    -- Oldest first into the list's head, so the newest ends up first.
    table.sort(missedList, function(a, b) return cjson.decode(a).slot < cjson.decode(b).slot end)
    inChunks('LPUSH', KEYS[12], missedList)
    redis.call('LTRIM', KEYS[12], 0, limit - 1)
  end

  redis.call('HINCRBY', KEYS[2], 'runs', created)
  redis.call('HINCRBY', KEYS[2], 'missed', tonumber(ARGV[21]))
  redis.call('HINCRBY', KEYS[2], 'skipped', skipped)
  count(KEYS[9], topic, 'ready', toReady)
  count(KEYS[9], topic, 'scheduled', toScheduled)
  count(KEYS[9], topic, 'prioritized', prioritized)
  if toScheduled > 0 then
    local before = redis.call('ZRANGE', KEYS[8], 0, 0, 'WITHSCORES')
    refreshHead(KEYS[6], KEYS[8], topic)
    local after = redis.call('ZRANGE', KEYS[8], 0, 0, 'WITHSCORES')
    if after[2] and (before[2] == nil or tonumber(after[2]) < tonumber(before[2])) then
      redis.call('PUBLISH', ARGV[18], after[2])
    end
  end

  if not manual then
    redis.call('HSET', KEYS[2], 'next', ARGV[5], 'fireAt', ARGV[6])
    if ARGV[5] == '' then
      redis.call('ZREM', KEYS[3], sid)
    else
      redis.call('ZADD', KEYS[3], ARGV[6], sid)
    end
  end
  return {'ok', created, skipped, existing}
end

local reply = run()
flushEvents(KEYS[10], ARGV[8])
return reply
