-- Argo CD health of a ddq.io DelayedTask, from the status the operator writes
-- (phase, conditions Valid/Scheduled/Succeeded, attempts, lastError, scheduledTime).
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

local function attempts(status)
  if status.attempts == nil then
    return "0 attempts"
  elseif status.attempts == 1 then
    return "1 attempt"
  end
  return tostring(status.attempts) .. " attempts"
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the ddq operator to reconcile the task"
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
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = "Succeeded after " .. attempts(status)
  if status.completionTime ~= nil then
    hs.message = hs.message .. " at " .. status.completionTime
  end
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = "Failed after " .. attempts(status)
  if status.lastError ~= nil and status.lastError ~= "" then
    hs.message = hs.message .. ": " .. status.lastError
  end
elseif phase == "Cancelled" then
  -- Cancelled on purpose (through the API): not a malfunction, and it will not run.
  hs.status = "Suspended"
  local succeeded = condition(status, "Succeeded")
  if succeeded ~= nil and succeeded.message ~= nil and succeeded.message ~= "" then
    hs.message = "Cancelled: " .. succeeded.message
  else
    hs.message = "Cancelled"
  end
elseif phase == "Pending" then
  hs.status = "Progressing"
  local scheduled = condition(status, "Scheduled")
  if scheduled ~= nil and scheduled.status == "False" and scheduled.message ~= nil and scheduled.message ~= "" then
    hs.message = "Pending: " .. scheduled.message
  else
    hs.message = "Pending: not yet in the scheduler"
  end
elseif phase == "Scheduled" then
  hs.status = "Progressing"
  if status.scheduledTime ~= nil then
    hs.message = "Scheduled to run at " .. status.scheduledTime
  else
    hs.message = "Scheduled"
  end
elseif phase == "Running" then
  hs.status = "Progressing"
  hs.message = "Running (attempt " .. tostring(status.attempts or 1) .. ")"
elseif phase == "Retrying" then
  hs.status = "Progressing"
  hs.message = "Retrying after " .. attempts(status)
  if status.lastError ~= nil and status.lastError ~= "" then
    hs.message = hs.message .. ": " .. status.lastError
  end
  if status.scheduledTime ~= nil then
    hs.message = hs.message .. "; next attempt at " .. status.scheduledTime
  end
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs
