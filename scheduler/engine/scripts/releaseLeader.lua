--[[
  releaseLeader: gives up a Redis-kept shard lease if the caller holds it, so a successor does
  not wait for it to expire. The epoch is left alone: the successor increments it.

  KEYS[1] leader lease key

  ARGV[1] holder identity

  Returns 1 if released, 0 if the caller did not hold it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
