--[[
  purgeDead: deletes dead tasks that died at or before a time, oldest first, at most `limit`
  per call (the caller loops). Optionally only one topic's.

  KEYS[1] epoch  KEYS[2] dead  KEYS[3] counts  KEYS[4] events  KEYS[5] task-key prefix

  ARGV[1] epoch  ARGV[2] limit (<= 1000)  ARGV[3] died at or before (ms)  ARGV[4] events max length
  ARGV[5] topic ("" = every topic)  ARGV[6] offset: entries of other topics skipped so far

  Returns {purged, examined, skipped}: the caller adds `skipped` to its offset and stops when
  examined < limit.
]]
-- @include "common"

local function run()
  local err = checkEpoch(KEYS[1], ARGV[1])
  if err then return err end

  local only = ARGV[5]
  local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', tonumber(ARGV[6]), tonumber(ARGV[2]))
  local purged = 0
  for _, id in ipairs(ids) do
    local taskKey = KEYS[5] .. id
    local topic = redis.call('HGET', taskKey, 'tp')
    if only == '' or topic == only then
      deleteDeadTask(KEYS[2], KEYS[3], taskKey, id, topic)
      purged = purged + 1
    end
  end
  return {purged, #ids, #ids - purged}
end

local reply = run()
flushEvents(KEYS[4], ARGV[4])
return reply
