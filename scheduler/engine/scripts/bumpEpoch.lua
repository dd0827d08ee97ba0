--[[
  bumpEpoch: a scheduler that became the shard's leader by other means (a Kubernetes Lease)
  takes a new epoch, fencing off every write of the previous leader.

  KEYS[1] epoch

  Returns the new epoch.
]]
return tostring(redis.call('INCR', KEYS[1]))
