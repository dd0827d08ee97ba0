--[[
  changeWaiting: changes what a waiting task (one not leased yet) waits for: its due time
  (RescheduleTask, RunTaskNow) and/or its priority (SetTaskPriority). Redis TIME is "now".
  * A new due time that has not come: the scheduled task stays scheduled with it [rescheduled].
  * A new due time that has come (RunTaskNow: now): a scheduled task becomes ready now, exactly
    as if it had fired [ready]; a ready task is left as it is (outcome unchanged).
  * A new due time that has not come for a ready task: refused (state ready). A ready task has
    fired; moving it back would race the workers' leases.
  * A new priority: a scheduled task keeps its place (its set is ordered by due time) and the
    prioritized counter follows; a ready task takes its new place in the ready queue at once
    [priority_changed].
  A never-leased task stays in the pending hash (its record is rewritten); a task with a hash
  (a retry, an expired lease, a requeue) gets its due field and record updated. Idempotent: a
  change to what the task already has is answered "unchanged" and records no event.

  KEYS[1] epoch  KEYS[2] events  KEYS[3] shard base (task, index and counts keys derive from it)

  ARGV[1] epoch  ARGV[2] task id  ARGV[3] events max length  ARGV[4] horizon ms
  ARGV[5] wake channel  ARGV[6] new due ("" = unchanged, "a<ms>" absolute, "i<ms>" from now)
  ARGV[7] new priority ("" = unchanged, else 0..1000)

  Returns {outcome ("changed" | "unchanged"), state ("scheduled" | "ready"), due time ms,
  priority, topic}, or {"state", stored state} when the task is not waiting (or, for a later
  due time, is ready): nothing was changed.
  Errors: STALE_EPOCH, NOT_FOUND, HORIZON max=<ms>.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local base, id = KEYS[3], ARGV[2]
  local taskKey, pendingKey = base .. 't:' .. id, base .. 'pending'
  local f = redis.call('HMGET', taskKey, 'st', 'r', 'due', 'tp', 'at')
  local pending = nil
  if not f[1] then
    pending = redis.call('HGET', pendingKey, id)
    if not pending then return redis.error_reply('NOT_FOUND') end
    f = {'waiting', pending, nil, string.match(pending, '^([^\n]*)\n'), '0'}
  end
  if f[1] ~= 'waiting' then return {'state', f[1]} end
  local topic, attempt = f[4], f[5] or '0'
  local scheduledKey, readyKey = base .. 'scheduled:' .. topic, base .. 'ready:' .. topic
  local scheduledDue = redis.call('ZSCORE', scheduledKey, id)
  if not scheduledDue and not redis.call('ZSCORE', readyKey, id) then
    return redis.error_reply('NOT_FOUND')
  end
  local record = f[2]
  local priority = string.match(record, RECORD_PRIORITY) or '0'
  local due = scheduledDue or f[3] or string.match(record, RECORD_DUE)

  local now = nowMs()
  local newDue = nil
  if ARGV[6] ~= '' then
    newDue = tonumber(string.sub(ARGV[6], 2))
    if string.sub(ARGV[6], 1, 1) == 'i' then newDue = now + newDue end
    if newDue > now + tonumber(ARGV[4]) then
      return redis.error_reply('HORIZON max=' .. int(now + tonumber(ARGV[4])))
    end
    -- A ready task has fired: a due time that has come leaves it as it is; a later one is refused.
    if not scheduledDue then
      if newDue > now then return {'state', 'ready'} end
      newDue = nil
    end
  end
  local newPriority = ARGV[7] ~= '' and ARGV[7] or nil
  if newPriority == priority then newPriority = nil end
  if newDue and int(newDue) == due and newDue > now then newDue = nil end
  if not newDue and not newPriority then
    return {'unchanged', scheduledDue and 'scheduled' or 'ready', tonumber(due), tonumber(priority), topic}
  end

  local countsKey = base .. 'counts'
  local state = scheduledDue and 'scheduled' or 'ready'
  if newPriority then
    record = withRecordField(record, 3, newPriority)
    if state == 'scheduled' then
      local delta = (newPriority ~= '0' and 1 or 0) - (priority ~= '0' and 1 or 0)
      count(countsKey, topic, 'prioritized', delta)
    else
      redis.call('ZADD', readyKey, readyScore(newPriority, due), id)
    end
    priority = newPriority
    event('priority_changed', id, topic, attempt)
  end
  if newDue then
    due = int(newDue)
    if pending then record = withRecordField(record, 2, due) end
    if newDue <= now then
      -- The counters already follow a priority changed above.
      leaveScheduled(base, id, topic, priority, pending)
      redis.call('ZADD', readyKey, readyScore(priority, due), id)
      count(countsKey, topic, 'scheduled', -1)
      count(countsKey, topic, 'ready', 1)
      state = 'ready'
      event('ready', id, topic, attempt)
    else
      redis.call('ZADD', scheduledKey, due, id)
      refreshHeadAndWake(scheduledKey, base .. 'due-topics', topic, ARGV[5])
      event('rescheduled', id, topic, attempt)
    end
  end
  if pending then
    redis.call('HSET', pendingKey, id, record)
  else
    redis.call('HSET', taskKey, 'r', record)
    if newDue then redis.call('HSET', taskKey, 'due', due) end
  end
  return {'changed', state, tonumber(due), tonumber(priority), topic}
end

local reply = run()
flushEvents(KEYS[2], ARGV[3])
return reply
