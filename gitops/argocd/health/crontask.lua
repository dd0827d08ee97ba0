-- Argo CD health of a ddq.io CronTask, from the status the operator writes
-- (phase, conditions Valid/Scheduled, nextScheduleTime, history, runs, missed).
local hs = {}

local function condition(status, conditionType)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function runs(status)
  local n = status.runs or 0
  if n == 1 then
    return "1 run"
  end
  return tostring(n) .. " runs"
end

-- The most recent finished occurrence (history is ordered oldest first).
local function lastFinished(status)
  if status.history == nil or #status.history == 0 then
    return nil
  end
  local last = status.history[1]
  for _, h in ipairs(status.history) do
    if (h.finishedTime or h.scheduledTime or "") >= (last.finishedTime or last.scheduledTime or "") then
      last = h
    end
  end
  return last
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the ddq operator to reconcile the schedule"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the ddq operator to observe generation " .. tostring(generation)
  return hs
end

local valid = condition(status, "Valid")
if status.phase == "Invalid" or (valid ~= nil and valid.status == "False") then
  hs.status = "Degraded"
  if valid ~= nil and valid.message ~= nil and valid.message ~= "" then
    hs.message = "Invalid spec: " .. valid.message
  else
    hs.message = "Invalid spec"
  end
  return hs
end

local phase = status.phase
if phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = "Suspended (spec.suspend) after " .. runs(status)
elseif phase == "Completed" then
  hs.status = "Healthy"
  hs.message = "Completed after " .. runs(status)
elseif phase == "Pending" then
  hs.status = "Progressing"
  local scheduled = condition(status, "Scheduled")
  if scheduled ~= nil and scheduled.status == "False" and scheduled.message ~= nil and scheduled.message ~= "" then
    hs.message = "Pending: " .. scheduled.message
  else
    hs.message = "Pending: schedule not yet in the scheduler"
  end
elseif phase == "Active" then
  local last = lastFinished(status)
  if last ~= nil and last.outcome == "Failed" then
    hs.status = "Degraded"
    hs.message = "Last run (" .. tostring(last.scheduledTime) .. ") failed"
    if last.message ~= nil and last.message ~= "" then
      hs.message = hs.message .. ": " .. last.message
    end
  else
    hs.status = "Healthy"
    hs.message = "Active, " .. runs(status)
  end
  if status.nextScheduleTime ~= nil then
    hs.message = hs.message .. "; next run at " .. status.nextScheduleTime
  end
  if status.missed ~= nil and status.missed > 0 then
    hs.message = hs.message .. "; " .. tostring(status.missed) .. " missed"
  end
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs
